{#-
    One row per EHC plan × phase transfer it has to go through: the plan must be reviewed and
    amended to name the next setting by 15 February of the year of transfer (reg 18(1)(b)), or by
    31 March for the move from secondary school to post-16 (reg 18(1)(a)).

    Transfers are into reception (early years to school, national curriculum year 0), year 7
    (primary to secondary) and year 12 (secondary to post-16), on 1 September of the transfer year
    given by the child's date of birth. A plan is in scope for a transfer when it was issued before
    the deadline and was still maintained on it, for deadlines from 15 February 2015 (the 2014
    regulations) up to a year after as_of_date (so the coming deadlines show as not yet due).

    The amended plan for the transfer is the first final amended plan issued (fct_annual_reviews,
    amended_plan_date) on or after 1 September of the year before the transfer and before
    1 September of the year after it; a plan issued in that window counts as naming the new setting.
-#}

with

windows as (
    select * from {{ ref('int_statutory__plan_windows') }}
    where reception_start_year is not null
),

reviews as (
    select casework_plan_id, amended_plan_date
    from {{ ref('fct_annual_reviews') }}
    where amended_plan_date is not null
),

transfer_kinds as (
    select * from (values
        ('early_years_to_school', 0, false),
        ('primary_to_secondary', 7, false),
        ('secondary_to_post16', 12, true)
    ) as kinds (transfer_type, entry_year_group, is_post16)
),

transfers as (
    select
        windows.*,
        transfer_kinds.transfer_type,
        transfer_kinds.entry_year_group,
        windows.reception_start_year + transfer_kinds.entry_year_group as transfer_year,
        {{ phase_transfer_deadline('windows.reception_start_year + transfer_kinds.entry_year_group',
                                   'transfer_kinds.is_post16') }} as deadline_date
    from windows
    cross join transfer_kinds
),

in_scope as (
    select *
    from transfers
    where issued_date < deadline_date
      and (ceased_date is null or ceased_date > deadline_date)
      and deadline_date >= date '2015-02-15'
      and deadline_date <= {{ as_of_date() }} + 365
),

amended as (
    select
        in_scope.plan_key,
        in_scope.transfer_type,
        min(reviews.amended_plan_date) as amended_plan_date
    from in_scope
    inner join reviews
        on reviews.casework_plan_id = in_scope.casework_plan_id
        and reviews.amended_plan_date >= make_date(in_scope.transfer_year - 1, 9, 1)
        and reviews.amended_plan_date < make_date(in_scope.transfer_year + 1, 9, 1)
        and reviews.amended_plan_date <= {{ as_of_date() }}
    group by in_scope.plan_key, in_scope.transfer_type
),

final as (
    select
        in_scope.*,
        case
            when in_scope.issued_date >= make_date(in_scope.transfer_year - 1, 9, 1)
                then least(in_scope.issued_date, amended.amended_plan_date)
            else amended.amended_plan_date
        end as final_plan_date
    from in_scope
    left join amended on amended.plan_key = in_scope.plan_key and amended.transfer_type = in_scope.transfer_type
)

select
    {{ surrogate_key('phase_transfer', ['casework_plan_id', 'transfer_type']) }} as phase_transfer_key,
    plan_key,
    person_key,
    casework_plan_id,
    transfer_type,
    entry_year_group,
    make_date(transfer_year, 9, 1) as transfer_date,
    deadline_date,
    final_plan_date,
    case
        when final_plan_date is not null then final_plan_date <= deadline_date
        when {{ as_of_date() }} > deadline_date then false
    end as issued_on_time,
    case
        when final_plan_date is not null and final_plan_date <= deadline_date then 'on_time'
        when final_plan_date is not null then 'late'
        when {{ as_of_date() }} > deadline_date then 'overdue'
        else 'not_yet_due'
    end as status,
    case
        when final_plan_date > deadline_date then {{ days_between('deadline_date', 'final_plan_date') }}
        when final_plan_date is null and {{ as_of_date() }} > deadline_date
            then {{ days_between('deadline_date', as_of_date()) }}
    end as days_late,
    {{ as_of_date() }} as as_of_date
from final
