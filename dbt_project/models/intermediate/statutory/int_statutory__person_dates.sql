{#-
    One row per reconciled child: the date of birth identity resolution settled on
    (int_identity__person_survivor) and the school-age dates the statutory marts use. Stays in the
    intermediate schema: the marts publish only what they derive from it.

    Compulsory school age is taken as wide as the child's linked records allow: from the earliest
    start to the latest end that any record's date of birth gives. When records disagree (a date
    of birth keyed wrongly, raised as the cross-system finding conflicting_dob), a part-time
    timetable is then still surfaced as a gap rather than hidden behind the wrong date; with one
    date of birth (or records that agree) it is simply that child's compulsory school age.
-#}

with

survivor as (
    select person_key, date_of_birth
    from {{ ref('int_identity__person_survivor') }}
),

record_dates as (
    select
        person_keys.person_key,
        min({{ compulsory_school_age_start('records.date_of_birth') }}) as earliest_start,
        max({{ compulsory_school_age_end('records.date_of_birth') }}) as latest_end,
        count(distinct records.date_of_birth) as distinct_dates_of_birth
    from {{ ref('int_identity__person_records') }} as records
    inner join {{ ref('int_identity__person_keys') }} as person_keys
        on person_keys.record_uid = records.record_uid
    where records.date_of_birth is not null
    group by person_keys.person_key
)

select
    survivor.person_key,
    survivor.date_of_birth,
    coalesce(least(record_dates.earliest_start, {{ compulsory_school_age_start('survivor.date_of_birth') }}),
             record_dates.earliest_start) as compulsory_school_age_start,
    coalesce(greatest(record_dates.latest_end, {{ compulsory_school_age_end('survivor.date_of_birth') }}),
             record_dates.latest_end) as compulsory_school_age_end,
    {{ reception_start_year('survivor.date_of_birth') }} as reception_start_year,
    coalesce(record_dates.distinct_dates_of_birth, 0) > 1 as has_conflicting_dates_of_birth
from survivor
left join record_dates on record_dates.person_key = survivor.person_key
