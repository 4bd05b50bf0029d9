{#-
    The records teams' work queue (shared/marts-contract.md): one row per (rule, source record)
    ever raised up to as_of_date, from int_quality__exception_history. first_seen/last_seen are
    the first and last nights the exception was raised; status is `new` (first raised tonight),
    `open` (raised tonight and before) or `resolved` (not raised tonight). owning_team comes from
    the council's routing seed (quality_routing), else the child's casework team, else the SEND
    records team. Attributes are those of the exception's latest night.
-#}

with

history as (
    select * from {{ ref('int_quality__exception_history') }}
    where as_of_date <= {{ as_of_date() }}
),

spans as (
    select exception_key, min(as_of_date) as first_seen, max(as_of_date) as last_seen
    from history
    group by exception_key
),

latest as (
    select distinct on (exception_key) *
    from history
    order by exception_key, as_of_date desc
),

routing as (
    select
        nullif(trim(rule_code), '') as rule_code,
        nullif(trim(source_system), '') as source_system,
        nullif(trim(casework_team), '') as casework_team,
        owning_team
    from {{ ref('quality_routing') }}
),

routed as (
    select distinct on (latest.exception_key)
        latest.exception_key,
        routing.owning_team
    from latest
    inner join routing
        on (routing.rule_code is null or routing.rule_code = latest.rule_code)
        and (routing.source_system is null or routing.source_system = latest.source_system)
        and (routing.casework_team is null or routing.casework_team = latest.casework_team)
    order by
        latest.exception_key,
        (routing.rule_code is not null)::int + (routing.source_system is not null)::int
            + (routing.casework_team is not null)::int desc,
        routing.owning_team
),

exceptions as (
    select
        latest.exception_key,
        latest.rule_code,
        latest.severity,
        latest.source_system,
        latest.source_record_id,
        latest.person_key,
        coalesce(routed.owning_team, latest.casework_team, 'SEND records team') as owning_team,
        latest.message,
        spans.first_seen,
        spans.last_seen,
        case
            when spans.last_seen < {{ as_of_date() }} then 'resolved'
            when spans.first_seen = {{ as_of_date() }} then 'new'
            else 'open'
        end as status
    from latest
    inner join spans on spans.exception_key = latest.exception_key
    left join routed on routed.exception_key = latest.exception_key
)

select * from exceptions
