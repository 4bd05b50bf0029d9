{#-
    The days each child's education placements cover up to as_of_date, and how well: one row per
    placement piece with a cover_rank
      3 education (a school or setting, full time or outside compulsory school age),
      2 part-time timetable (under 25 hours a week on days of compulsory school age),
      1 no education (SEN2 setting NIEO, NIEC or NEET).
    A part-time placement is split at the child's compulsory school age bounds: only its school-age
    days rank 2 (the rest rank 3). With no known date of birth all its days rank 2. Open placements
    (and end dates after the night) cover up to as_of_date. Placements ending before they start
    are left out (a data-quality exception, not cover).
-#}

with

placements as (
    select
        placement_id,
        person_key,
        urn,
        setting_code,
        start_date,
        end_date,
        end_reason,
        hours_per_week,
        coalesce(is_dual_registration = 'Y', false) as is_dual_registration,
        least(coalesce(end_date, {{ as_of_date() }}), {{ as_of_date() }}) as covered_to
    from {{ ref('int_placements') }}
    where person_key is not null
      and start_date is not null
      and start_date <= {{ as_of_date() }}
      and (end_date is null or end_date >= start_date)
),

classified as (
    select
        placements.*,
        case
            when placements.setting_code in {{ no_education_setting_codes() }} then 'no_education'
            when placements.hours_per_week < {{ full_time_hours() }} then 'part_time'
            else 'education'
        end as placement_kind,
        person_dates.compulsory_school_age_start as csa_start,
        person_dates.compulsory_school_age_end as csa_end
    from placements
    left join {{ ref('int_statutory__person_dates') }} as person_dates
        on person_dates.person_key = placements.person_key
),

pieces as (
    select classified.*, start_date as cover_start, covered_to as cover_end,
           case placement_kind when 'no_education' then 1 else 3 end as cover_rank
    from classified
    where placement_kind <> 'part_time'

    union all
    -- part-time days of compulsory school age (all of them when the date of birth is unknown)
    select classified.*, greatest(start_date, coalesce(csa_start, start_date)),
           least(covered_to, coalesce(csa_end, covered_to)), 2
    from classified
    where placement_kind = 'part_time'
      and (csa_start is null or csa_end is null or (start_date <= csa_end and covered_to >= csa_start))

    union all
    -- part-time days before compulsory school age
    select classified.*, start_date, least(covered_to, csa_start - 1), 3
    from classified
    where placement_kind = 'part_time' and start_date < csa_start

    union all
    -- part-time days after compulsory school age
    select classified.*, greatest(start_date, csa_end + 1), covered_to, 3
    from classified
    where placement_kind = 'part_time' and covered_to > csa_end
)

select
    person_key,
    placement_id,
    urn,
    setting_code,
    hours_per_week,
    is_dual_registration,
    placement_kind,
    start_date as placement_start_date,
    end_date as placement_end_date,
    end_reason,
    cover_start,
    cover_end,
    cover_rank
from pieces
