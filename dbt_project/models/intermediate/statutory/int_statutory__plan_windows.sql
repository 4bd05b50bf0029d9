{#-
    One row per EHC plan issued on or before as_of_date: the days it was active up to the night
    (from its issue date to the day before it ceased, never beyond as_of_date), with the child's
    school-age dates and whether the child is known to the education system at all.
-#}

with

plans as (
    select * from {{ ref('int_plans') }}
    where issued_date is not null
      and issued_date <= {{ as_of_date() }}
),

person_dates as (
    select * from {{ ref('int_statutory__person_dates') }}
),

education_records as (
    select person_key, count(*) as education_records
    from {{ ref('int_identity__person_keys') }}
    where source_system = 'education'
    group by person_key
)

select
    {{ surrogate_key('casework_plan', 'plans.casework_plan_id') }} as plan_key,
    plans.casework_plan_id,
    plans.casework_request_id,
    plans.person_key,
    plans.issued_date,
    plans.ceased_date,
    plans.cease_reason,
    plans.primary_need,
    plans.named_urn,
    plans.named_setting_code,
    plans.issued_date as first_active_date,
    least(coalesce(plans.ceased_date - 1, {{ as_of_date() }}), {{ as_of_date() }}) as last_active_date,
    (plans.ceased_date is null or plans.ceased_date > {{ as_of_date() }}) as is_active,
    coalesce(education_records.education_records, 0) > 0 as has_education_record,
    person_dates.date_of_birth,
    person_dates.compulsory_school_age_start,
    person_dates.compulsory_school_age_end,
    person_dates.reception_start_year
from plans
left join person_dates on person_dates.person_key = plans.person_key
left join education_records on education_records.person_key = plans.person_key
