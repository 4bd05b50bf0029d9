{#-
    One row per request for an EHC needs assessment, with its statutory clocks as of the night.
    Day counts are calendar days; "within N weeks" is end - start <= N * 7 (macros/statutory).
    Transfers-in (plans transferred from another council) carry their dates and day counts but
    no timeliness measure: every within-N-weeks flag, open_days and status_20_week exclude them.
-#}

with

requests as (
    select * from {{ ref('int_requests') }}
),

decoded as (
    select
        casework_request_id,
        person_key,
        received_date,
        decision_date,
        outcome_date,
        draft_issued_date,
        coalesce(team, 'Unknown') as team,
        request_source,
        exception_reason,
        transferred_in_from_la_code,
        case decision
            when 'Y' then 'assess'
            when 'N' then 'not_assess'
            when 'W' then 'withdrawn'
            else 'pending'
        end as decision,
        assessment_outcome as assessment_outcome_code,
        exception_reason is not null as exception_applies,
        transferred_in_from_la_code is not null as is_transfer_in
    from requests
),

outcomes as (
    select
        decoded.*,
        case
            when decision in ('not_assess', 'withdrawn') then 'not_applicable'
            when decision = 'pending' then 'pending'
            when assessment_outcome_code = 'Y' then 'plan_issued'
            when assessment_outcome_code = 'N' then 'no_plan'
            when assessment_outcome_code = 'W' then 'withdrawn'
            else 'pending'
        end as assessment_outcome
    from decoded
),

clocks as (
    select
        outcomes.*,
        case when decision <> 'pending' then {{ days_between('received_date', 'decision_date') }} end
            as days_to_decision,
        case when assessment_outcome in ('plan_issued', 'no_plan', 'withdrawn')
            then {{ days_between('received_date', 'outcome_date') }} end as days_to_outcome,
        assessment_outcome = 'pending' as is_open
    from outcomes
),

measures as (
    select
        clocks.*,
        case when decision in ('assess', 'not_assess') and not is_transfer_in
            then days_to_decision <= {{ weeks_in_days(6) }} end as decided_within_6_weeks,
        case when assessment_outcome = 'plan_issued' and not is_transfer_in
            then days_to_outcome <= {{ weeks_in_days(20) }} end as issued_within_20_weeks,
        case when assessment_outcome = 'no_plan' and not is_transfer_in
            then days_to_outcome <= {{ weeks_in_days(16) }} end as no_plan_within_16_weeks,
        case when is_open and not is_transfer_in
            then {{ days_between('received_date', as_of_date()) }} end as open_days
    from clocks
)

select
    {{ surrogate_key('casework_request', 'casework_request_id') }} as request_key,
    casework_request_id,
    person_key,
    received_date,
    decision_date,
    outcome_date,
    draft_issued_date,
    team,
    decision,
    assessment_outcome,
    days_to_decision,
    decided_within_6_weeks,
    days_to_outcome,
    exception_applies,
    issued_within_20_weeks,
    no_plan_within_16_weeks,
    is_transfer_in,
    open_days,
    case
        when is_transfer_in then 'not_applicable'
        when issued_within_20_weeks then 'met'
        when not issued_within_20_weeks then 'missed'
        when open_days <= {{ weeks_in_days(14) }} then 'open_on_track'
        when open_days <= {{ weeks_in_days(20) }} then 'open_at_risk'
        when open_days > {{ weeks_in_days(20) }} then 'open_breached'
        else 'not_applicable'
    end as status_20_week,
    -- beyond the contract
    request_source,
    exception_reason,
    transferred_in_from_la_code,
    is_open,
    case
        when decision in ('not_assess', 'withdrawn') then decision_date
        when assessment_outcome in ('plan_issued', 'no_plan', 'withdrawn') then outcome_date
    end as closed_date,
    case
        when assessment_outcome <> 'plan_issued' or is_transfer_in or days_to_outcome is null then null
        when days_to_outcome <= {{ weeks_in_days(20) }} then 'within_20_weeks'
        when days_to_outcome <= {{ weeks_in_days(52) }} then '20_to_52_weeks'
        else 'over_52_weeks'
    end as issue_time_band,
    coalesce(decision_date >= received_date, true)
        and coalesce(outcome_date >= received_date, true)
        and coalesce(draft_issued_date >= received_date, true)
        and coalesce(outcome_date >= decision_date, true) as dates_in_order,
    {{ as_of_date() }} as as_of_date
from measures
