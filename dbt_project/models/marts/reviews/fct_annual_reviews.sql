{#-
    One row per annual review cycle of an EHC plan, with its statutory clocks as of the night:
    the meeting by the due date, the decision within 4 weeks of the meeting (reg 20(10)), and for
    an amendment the final amended plan within 12 weeks of the meeting (reg 22; R (L) v Devon).
    A cycle is open while it has no meeting; a cycle of a plan that ceased on or before its due
    date was never required and is not overdue.
-#}

with

reviews as (
    select * from {{ ref('int_reviews') }}
),

plans as (
    select casework_plan_id, casework_request_id, ceased_date
    from {{ ref('int_plans') }}
),

requests as (
    select casework_request_id, team
    from {{ ref('int_requests') }}
),

cycles as (
    select
        reviews.casework_review_id,
        reviews.casework_plan_id,
        reviews.person_key,
        reviews.due_date,
        reviews.meeting_date,
        reviews.decision_date,
        reviews.amended_plan_date,
        case reviews.outcome
            when 'M' then 'maintain'
            when 'A' then 'amend'
            when 'C' then 'cease'
            else 'pending'
        end as outcome,
        plans.ceased_date as plan_ceased_date,
        coalesce(requests.team, 'Unknown') as team,
        coalesce(plans.ceased_date <= reviews.due_date, false) as plan_ceased_before_due
    from reviews
    left join plans on plans.casework_plan_id = reviews.casework_plan_id
    left join requests on requests.casework_request_id = plans.casework_request_id
),

measures as (
    select
        cycles.*,
        case
            when meeting_date is not null then meeting_date > due_date
            when plan_ceased_before_due then false
            else {{ as_of_date() }} > due_date
        end as meeting_overdue,
        meeting_date is null
            and not plan_ceased_before_due
            and (plan_ceased_date is null or plan_ceased_date > {{ as_of_date() }}) as is_open,
        case
            when meeting_date is null then null
            when decision_date is not null then {{ within_weeks('meeting_date', 'decision_date', 4) }}
            when {{ days_between('meeting_date', as_of_date()) }} <= {{ weeks_in_days(4) }} then null
            else false
        end as decision_within_4_weeks,
        case
            when outcome <> 'amend' or meeting_date is null then null
            when amended_plan_date is not null then {{ within_weeks('meeting_date', 'amended_plan_date', 12) }}
            when {{ days_between('meeting_date', as_of_date()) }} <= {{ weeks_in_days(12) }} then null
            else false
        end as amended_within_12_weeks
    from cycles
)

select
    {{ surrogate_key('casework_review', 'casework_review_id') }} as review_key,
    casework_review_id,
    {{ surrogate_key('casework_plan', 'casework_plan_id') }} as plan_key,
    person_key,
    due_date,
    meeting_date,
    decision_date,
    outcome,
    meeting_overdue,
    decision_within_4_weeks,
    amended_within_12_weeks,
    case when is_open and {{ as_of_date() }} > due_date
        then {{ days_between('due_date', as_of_date()) }} end as days_overdue,
    -- beyond the contract
    casework_plan_id,
    amended_plan_date,
    team,
    is_open,
    plan_ceased_date,
    case when meeting_date is not null and decision_date is null
        then {{ days_between('meeting_date', as_of_date()) }} end as days_awaiting_decision,
    {{ as_of_date() }} as as_of_date
from measures
