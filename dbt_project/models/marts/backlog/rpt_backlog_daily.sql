{#-
    The backlog, night by night: one row per as_of_date × team × measure, so the series grows by
    one night's rows each run. Incremental (delete+insert on as_of_date): a run appends its night's
    rows, and a rerun of the same night replaces them rather than duplicating them. A rerun of an
    older night recomputes that night as it stood (every input is as of as_of_date). Protected from
    --full-refresh, which would erase the history.

    Measures (counts; transfers-in excluded from request measures):
      open_requests                      requests open on the night
      open_requests_on_track / _at_risk / _breached   by 20-week status (<= 98, 99-140, > 140 days)
      open_requests_awaiting_decision    open with no decision to assess yet
      decisions_overdue                  ... and more than 6 weeks (42 days) old
      open_requests_age_0_6_weeks / _6_20_weeks / _20_52_weeks / _over_52_weeks
                                         open requests by age (0-42, 43-140, 141-364, > 364 days)
      reviews_overdue                    review cycles past their due date with no meeting
      reviews_overdue_over_12_weeks      ... overdue by more than 84 days
      review_decisions_overdue           review meetings held over 4 weeks ago with no decision
-#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='as_of_date',
    on_schema_change='append_new_columns',
    full_refresh=false
) }}

with

requests as (
    select team, decision, status_20_week, open_days
    from {{ ref('fct_ehc_requests') }}
    where is_open and not is_transfer_in
),

reviews as (
    select team, is_open, days_overdue, days_awaiting_decision
    from {{ ref('fct_annual_reviews') }}
),

facts as (
    select team, 'open_requests' as measure from requests
    union all
    select team, 'open_requests_' || replace(status_20_week, 'open_', '') from requests
    where status_20_week like 'open_%'
    union all
    select team, 'open_requests_awaiting_decision' from requests where decision = 'pending'
    union all
    select team, 'decisions_overdue' from requests
    where decision = 'pending' and open_days > {{ weeks_in_days(6) }}
    union all
    select team,
        case
            when open_days <= {{ weeks_in_days(6) }} then 'open_requests_age_0_6_weeks'
            when open_days <= {{ weeks_in_days(20) }} then 'open_requests_age_6_20_weeks'
            when open_days <= {{ weeks_in_days(52) }} then 'open_requests_age_20_52_weeks'
            else 'open_requests_age_over_52_weeks'
        end
    from requests
    where open_days is not null
    union all
    select team, 'reviews_overdue' from reviews where is_open and days_overdue > 0
    union all
    select team, 'reviews_overdue_over_12_weeks' from reviews
    where is_open and days_overdue > {{ weeks_in_days(12) }}
    union all
    select team, 'review_decisions_overdue' from reviews
    where days_awaiting_decision > {{ weeks_in_days(4) }}
),

measures as (
    select measure from (values
        ('open_requests'), ('open_requests_on_track'), ('open_requests_at_risk'), ('open_requests_breached'),
        ('open_requests_awaiting_decision'), ('decisions_overdue'),
        ('open_requests_age_0_6_weeks'), ('open_requests_age_6_20_weeks'), ('open_requests_age_20_52_weeks'),
        ('open_requests_age_over_52_weeks'),
        ('reviews_overdue'), ('reviews_overdue_over_12_weeks'), ('review_decisions_overdue')
    ) as m (measure)
),

teams as (
    select team from {{ ref('fct_ehc_requests') }} where not is_transfer_in
    union
    select team from reviews
    union
    select 'All'
),

counts as (
    select coalesce(team, 'All') as team, measure, count(*) as value
    from facts
    group by grouping sets ((team, measure), (measure))
)

select
    {{ surrogate_key('backlog', [as_of_date(), 'teams.team', 'measures.measure']) }} as backlog_key,
    {{ as_of_date() }} as as_of_date,
    teams.team::text as team,
    measures.measure::text as measure,
    coalesce(counts.value, 0)::integer as value,
    {{ "'" ~ (var('run_id', 'adhoc') | string | replace("'", "''")) ~ "'" }}::text as run_id,
    now() as computed_at
from teams
cross join measures
left join counts on counts.team = teams.team and counts.measure = measures.measure
