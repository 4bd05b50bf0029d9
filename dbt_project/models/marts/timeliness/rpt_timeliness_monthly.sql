{#-
    One row per calendar month × owning team, plus a team 'All' row per month: the DfE timeliness
    measures by month of issue (plans), receipt (requests), decision (decisions to assess or not)
    and month end (open requests past 20 weeks). Transfers-in are excluded throughout. Every month
    from the first request received to the month of as_of_date has a row for every team, so a
    month with no activity shows zeros. Percentages are 0-100 to one decimal, null when the
    denominator is 0. The month of as_of_date is measured to as_of_date (is_complete_month false).
-#}

with

requests as (
    select * from {{ ref('fct_ehc_requests') }}
    where not is_transfer_in
),

months as (
    select month_start::date as month
    from generate_series(
        (select {{ month_start('min(received_date)') }} from requests),
        {{ month_start(as_of_date()) }},
        interval '1 month'
    ) as month_start
),

teams as (
    select distinct team from requests
    union
    select 'All'
),

events as (
    -- one row per request and measure it contributes to, dated by the measure's month
    select team, {{ month_start('outcome_date') }} as month, 'issued' as event,
           exception_applies, issued_within_20_weeks as met, days_to_outcome
    from requests
    where assessment_outcome = 'plan_issued' and outcome_date <= {{ as_of_date() }}

    union all
    select team, {{ month_start('received_date') }}, 'received', exception_applies, null, null
    from requests
    where received_date <= {{ as_of_date() }}

    union all
    select team, {{ month_start('decision_date') }}, 'decided', exception_applies, decided_within_6_weeks, null
    from requests
    where decision in ('assess', 'not_assess') and decision_date <= {{ as_of_date() }}
),

breached as (
    -- each month end (or as_of_date, for its own month) at which a request was open past 20 weeks
    select requests.team, month_end.month
    from requests
    cross join lateral (
        select series::date as month
        from generate_series(
            {{ month_start('requests.received_date + ' ~ weeks_in_days(20) ~ ' + 1') }},
            {{ month_start('coalesce(requests.closed_date - 1, ' ~ as_of_date() ~ ')') }},
            interval '1 month'
        ) as series
    ) as month_end
    where requests.received_date is not null
      and (requests.is_open or requests.closed_date is not null)
      and least({{ month_end('month_end.month') }}, {{ as_of_date() }})
          between requests.received_date + {{ weeks_in_days(20) }} + 1
              and coalesce(requests.closed_date - 1, {{ as_of_date() }})
),

event_counts as (
    select
        month,
        coalesce(team, 'All') as team,
        count(*) filter (where event = 'issued') as plans_issued,
        count(*) filter (where event = 'issued' and not exception_applies) as plans_issued_excl_exceptions,
        count(*) filter (where event = 'issued' and not exception_applies and met) as plans_within_20_weeks_excl_exceptions,
        count(*) filter (where event = 'issued' and met) as plans_within_20_weeks_incl_exceptions,
        count(*) filter (where event = 'issued' and days_to_outcome > {{ weeks_in_days(52) }}) as issued_over_52_weeks,
        count(*) filter (where event = 'received') as requests_received,
        count(*) filter (where event = 'decided') as requests_decided,
        count(*) filter (where event = 'decided' and met) as requests_decided_within_6_weeks
    from events
    group by grouping sets ((month, team), (month))
),

breached_counts as (
    select month, coalesce(team, 'All') as team, count(*) as open_breached_at_month_end
    from breached
    group by grouping sets ((month, team), (month))
),

grid as (
    select
        months.month,
        teams.team,
        coalesce(event_counts.plans_issued, 0) as plans_issued,
        coalesce(event_counts.plans_issued_excl_exceptions, 0) as plans_issued_excl_exceptions,
        coalesce(event_counts.plans_within_20_weeks_excl_exceptions, 0) as plans_within_20_weeks_excl_exceptions,
        coalesce(event_counts.plans_within_20_weeks_incl_exceptions, 0) as plans_within_20_weeks_incl_exceptions,
        coalesce(event_counts.issued_over_52_weeks, 0) as issued_over_52_weeks,
        coalesce(event_counts.requests_received, 0) as requests_received,
        coalesce(event_counts.requests_decided, 0) as requests_decided,
        coalesce(event_counts.requests_decided_within_6_weeks, 0) as requests_decided_within_6_weeks,
        coalesce(breached_counts.open_breached_at_month_end, 0) as open_breached_at_month_end
    from months
    cross join teams
    left join event_counts on event_counts.month = months.month and event_counts.team = teams.team
    left join breached_counts on breached_counts.month = months.month and breached_counts.team = teams.team
)

select
    month,
    team,
    plans_issued::integer as plans_issued,
    plans_issued_excl_exceptions::integer as plans_issued_excl_exceptions,
    round(100.0 * plans_within_20_weeks_excl_exceptions / nullif(plans_issued_excl_exceptions, 0), 1)::numeric(4, 1)
        as pct_within_20_weeks_excl_exceptions,
    round(100.0 * plans_within_20_weeks_incl_exceptions / nullif(plans_issued, 0), 1)::numeric(4, 1)
        as pct_within_20_weeks_incl_exceptions,
    issued_over_52_weeks::integer as issued_over_52_weeks,
    requests_received::integer as requests_received,
    requests_decided::integer as requests_decided,
    round(100.0 * requests_decided_within_6_weeks / nullif(requests_decided, 0), 1)::numeric(4, 1)
        as pct_decided_within_6_weeks,
    open_breached_at_month_end::integer as open_breached_at_month_end,
    -- beyond the contract: the counts behind the percentages, so periods can be summed exactly
    plans_within_20_weeks_excl_exceptions::integer as plans_within_20_weeks_excl_exceptions,
    plans_within_20_weeks_incl_exceptions::integer as plans_within_20_weeks_incl_exceptions,
    requests_decided_within_6_weeks::integer as requests_decided_within_6_weeks,
    {{ month_end('month') }} <= {{ as_of_date() }} as is_complete_month,
    {{ as_of_date() }} as as_of_date
from grid
