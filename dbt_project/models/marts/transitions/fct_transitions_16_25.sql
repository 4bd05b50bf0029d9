{#-
    The "cliff edge" into adulthood: one row per EHC plan × finding about a young person
    (plans run to the end of the academic year the young person turns 25, CFA 2014 s.46).

      plan_ceased_18_19         a plan that ceased (on or before as_of_date) when the young person
                                was 18 or 19, with the SEN2 cease reason
      neet                      an active plan of a young person past compulsory school age whose
                                placement on as_of_date is NEET
      not_in_education          ... whose placement on as_of_date is NIEO / NIEC
      no_placement_recorded     ... known to education with no placement covering as_of_date
      post16_placement_missing  an active plan of a young person in year 11 (moving to post-16 on
                                the coming 1 September) with neither an amended plan issued this
                                school year nor a placement starting on or after that 1 September
-#}

with

windows as (
    select * from {{ ref('int_statutory__plan_windows') }}
),

current_setting as (
    select * from {{ ref('int_statutory__current_setting') }}
),

amended as (
    select casework_plan_id, max(amended_plan_date) as last_amended_plan_date
    from {{ ref('fct_annual_reviews') }}
    where amended_plan_date <= {{ as_of_date() }}
    group by casework_plan_id
),

future_placements as (
    select person_key, min(start_date) as next_start_date
    from {{ ref('int_placements') }}
    where person_key is not null
      and start_date >= {{ school_year_start(as_of_date()) }} + interval '1 year'
    group by person_key
),

ceased as (
    select
        windows.plan_key,
        windows.person_key,
        windows.casework_plan_id,
        'plan_ceased_18_19' as finding,
        windows.ceased_date as event_date,
        {{ age_in_years('windows.date_of_birth', 'windows.ceased_date') }} as age_at_event,
        windows.cease_reason as cease_reason_code,
        {{ cease_reason_label('windows.cease_reason') }} as cease_reason,
        null::text as setting_category,
        'Plan ceased at ' || {{ age_in_years('windows.date_of_birth', 'windows.ceased_date') }}
            || coalesce(' (' || {{ cease_reason_label('windows.cease_reason') }} || ')', ' (no reason recorded)')
            as details
    from windows
    where windows.ceased_date <= {{ as_of_date() }}
      and windows.ceased_date > windows.issued_date
      and {{ age_in_years('windows.date_of_birth', 'windows.ceased_date') }} in (18, 19)
),

young_people as (
    -- active plans of young people past compulsory school age and under 26
    select windows.*
    from windows
    where windows.is_active
      and windows.compulsory_school_age_end < {{ as_of_date() }}
      and {{ age_in_years('windows.date_of_birth', as_of_date()) }} < 26
),

not_in_education as (
    select
        young_people.plan_key,
        young_people.person_key,
        young_people.casework_plan_id,
        case
            when current_setting.setting_category = 'neet' then 'neet'
            when current_setting.setting_category = 'not_in_education' then 'not_in_education'
            else 'no_placement_recorded'
        end as finding,
        coalesce(current_setting.placement_start_date, {{ as_of_date() }}) as event_date,
        {{ age_in_years('young_people.date_of_birth', as_of_date()) }} as age_at_event,
        null::smallint as cease_reason_code,
        null::text as cease_reason,
        coalesce(current_setting.setting_category, 'placement_not_recorded') as setting_category,
        case
            when current_setting.person_key is null then 'No placement covers ' || {{ as_of_date() }}
            else 'Recorded as ' || current_setting.setting_code || ' since ' || current_setting.placement_start_date
        end as details
    from young_people
    left join current_setting on current_setting.person_key = young_people.person_key
    where young_people.has_education_record
      and (current_setting.person_key is null or current_setting.setting_category in ('neet', 'not_in_education'))
),

post16_missing as (
    select
        windows.plan_key,
        windows.person_key,
        windows.casework_plan_id,
        'post16_placement_missing' as finding,
        ({{ school_year_start(as_of_date()) }} + interval '1 year')::date as event_date,
        {{ age_in_years('windows.date_of_birth', as_of_date()) }} as age_at_event,
        null::smallint as cease_reason_code,
        null::text as cease_reason,
        current_setting.setting_category,
        'Year 11: no amended plan since ' || {{ school_year_start(as_of_date()) }}
            || ' and no placement from ' || ({{ school_year_start(as_of_date()) }} + interval '1 year')::date
            as details
    from windows
    left join amended on amended.casework_plan_id = windows.casework_plan_id
    left join future_placements on future_placements.person_key = windows.person_key
    left join current_setting on current_setting.person_key = windows.person_key
    where windows.is_active
      and {{ national_curriculum_year('windows.date_of_birth', as_of_date()) }} = 11
      and (amended.last_amended_plan_date is null
           or amended.last_amended_plan_date < {{ school_year_start(as_of_date()) }})
      and future_placements.person_key is null
),

findings as (
    select * from ceased
    union all
    select * from not_in_education
    union all
    select * from post16_missing
)

select
    {{ surrogate_key('transition', ['casework_plan_id', 'finding']) }} as transition_key,
    person_key,
    plan_key,
    casework_plan_id,
    finding::text as finding,
    event_date::date as event_date,
    age_at_event::integer as age_at_event,
    cease_reason_code::smallint as cease_reason_code,
    cease_reason::text as cease_reason,
    setting_category::text as setting_category,
    details::text as details,
    {{ as_of_date() }} as as_of_date
from findings
