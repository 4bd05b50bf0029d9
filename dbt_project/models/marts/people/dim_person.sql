{#-
    One row per reconciled child, pseudonymous: no names, full dates of birth, UPNs, NHS numbers
    or postcodes (those are in restricted.person_identifiable). Survivorship as in
    int_identity__person_survivor.
-#}

with

survivor as (
    select * from {{ ref('int_identity__person_survivor') }}
),

plans as (
    select
        person_key,
        primary_need,
        issued_date,
        casework_plan_id,
        issued_date <= {{ as_of_date() }}
            and (ceased_date is null or ceased_date > {{ as_of_date() }}) as is_active
    from {{ ref('int_plans') }}
    where person_key is not null and issued_date is not null and issued_date <= {{ as_of_date() }}
),

current_plan as (
    -- the latest-issued active plan, else the latest-issued plan
    select distinct on (person_key) person_key, primary_need, is_active
    from plans
    order by person_key, is_active desc, issued_date desc, casework_plan_id desc
),

records as (
    select
        person_key,
        bool_or(source_system = 'casework') as in_casework,
        bool_or(source_system = 'education') as in_education,
        bool_or(source_system = 'socialcare') as in_socialcare,
        bool_or(is_within_system_duplicate) as has_duplicate_records
    from {{ ref('int_identity__person_keys') }}
    group by person_key
)

select
    survivor.person_key,
    to_char(survivor.date_of_birth, 'YYYY-MM') as birth_year_month,
    coalesce(survivor.sex, 'U') as sex,
    current_plan.primary_need,
    coalesce(current_plan.is_active, false) as has_active_plan,
    records.in_casework,
    records.in_education,
    records.in_socialcare,
    survivor.record_count::integer as source_record_count,
    records.has_duplicate_records
from survivor
inner join records on records.person_key = survivor.person_key
left join current_plan on current_plan.person_key = survivor.person_key
