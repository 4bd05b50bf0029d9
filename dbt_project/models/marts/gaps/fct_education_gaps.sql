{#-
    One row per period a child with an active EHC plan had no suitable education.

    For each plan, the days it was active up to the night (issue date to the day before it ceased,
    int_statutory__plan_windows) are cut at every placement start and end into runs of days; each
    day takes the best cover any of the child's placements gives it (int_statutory__education_cover:
    education > part-time timetable > no education (NIEO/NIEC/NEET) > nothing). Maximal runs of one
    kind short of education are the gaps: a gap starts on the plan's issue date or the day after a
    placement ends with nothing else covering the next day, and ends the day before the next
    placement starts, or on the plan's last active day; a gap still running on as_of_date is open
    (gap_end null, measured to as_of_date). Overlapping and dual registrations simply cover days.
    Children unknown to the education system have no rows here: they are the cross-system finding
    plan_without_education_record instead.
-#}

with

windows as (
    select *
    from {{ ref('int_statutory__plan_windows') }}
    where has_education_record
      and person_key is not null
      and last_active_date >= first_active_date
),

cover as (
    select * from {{ ref('int_statutory__education_cover') }}
),

relevant as (
    -- cover pieces overlapping each plan's active days
    select windows.plan_key, windows.first_active_date, windows.last_active_date,
           cover.cover_start, cover.cover_end, cover.cover_rank
    from windows
    inner join cover
        on cover.person_key = windows.person_key
        and cover.cover_start <= windows.last_active_date
        and cover.cover_end >= windows.first_active_date
),

points as (
    -- the days on which cover may change
    select plan_key, first_active_date as point from windows
    union
    select plan_key, last_active_date + 1 from windows
    union
    select plan_key, cover_start from relevant where cover_start > first_active_date
    union
    select plan_key, cover_end + 1 from relevant where cover_end + 1 <= last_active_date
),

segments as (
    select plan_key, point as segment_start,
           lead(point) over (partition by plan_key order by point) - 1 as segment_end
    from points
),

segment_cover as (
    select
        segments.plan_key,
        segments.segment_start,
        segments.segment_end,
        coalesce(max(relevant.cover_rank), 0) as cover_rank
    from segments
    left join relevant
        on relevant.plan_key = segments.plan_key
        and relevant.cover_start <= segments.segment_start
        and relevant.cover_end >= segments.segment_start
    where segments.segment_end is not null
    group by segments.plan_key, segments.segment_start, segments.segment_end
),

islands as (
    select
        segment_cover.*,
        row_number() over (partition by plan_key order by segment_start)
            - row_number() over (partition by plan_key, cover_rank order by segment_start) as island
    from segment_cover
),

gaps as (
    select plan_key, cover_rank, min(segment_start) as gap_start, max(segment_end) as gap_last
    from islands
    where cover_rank < 3
    group by plan_key, cover_rank, island
),

preceding as (
    -- the placement that ended the day before the gap started, if any
    select distinct on (gaps.plan_key, gaps.gap_start)
        gaps.plan_key, gaps.gap_start, cover.end_reason
    from gaps
    inner join windows on windows.plan_key = gaps.plan_key
    inner join cover
        on cover.person_key = windows.person_key
        and cover.placement_end_date = gaps.gap_start - 1
    order by gaps.plan_key, gaps.gap_start, (cover.end_reason is null), cover.is_dual_registration,
             cover.cover_rank desc, cover.placement_id
),

final as (
    select
        gaps.*,
        windows.person_key,
        windows.casework_plan_id,
        windows.compulsory_school_age_start,
        windows.compulsory_school_age_end,
        windows.is_active and gaps.gap_last = {{ as_of_date() }} as is_open,
        preceding.end_reason as preceding_end_reason
    from gaps
    inner join windows on windows.plan_key = gaps.plan_key
    left join preceding on preceding.plan_key = gaps.plan_key and preceding.gap_start = gaps.gap_start
)

select
    {{ surrogate_key('education_gap', ['casework_plan_id', 'cover_rank', 'gap_start']) }} as gap_key,
    person_key,
    plan_key,
    case cover_rank
        when 0 then 'no_placement'
        when 1 then 'not_in_education'
        when 2 then 'part_time_timetable'
    end as gap_type,
    gap_start,
    case when is_open then null else gap_last end as gap_end,
    (gap_last - gap_start + 1)::integer as gap_days,
    is_open,
    case when compulsory_school_age_start is not null and compulsory_school_age_end is not null
        then gap_start <= compulsory_school_age_end and gap_last >= compulsory_school_age_start
    end as compulsory_school_age,
    preceding_end_reason,
    -- beyond the contract
    casework_plan_id,
    {{ as_of_date() }} as as_of_date
from final
