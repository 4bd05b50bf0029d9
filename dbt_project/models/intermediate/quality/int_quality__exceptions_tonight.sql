{#-
    Tonight's data-quality exceptions: every rule model's findings, one row per (rule, source
    system, source record), with the key that identifies the exception across nights, the rule's
    severity (seed quality_rules), the child's person_key and casework team.

    exception_key = md5(rule_code | source_system | source_object | source_record_id): the same
    problem on the same record keeps its key night after night, whatever its message says. The
    object (cw_request, cw_plan, ...) is part of it because one system may number two kinds of
    record alike (a request 30 and a plan 30).
-#}

with

findings as (
    select rule_code, source_system, source_object, source_record_id, person_record_id, message
    from {{ ref('int_quality__identifier_exceptions') }}
    union all
    select rule_code, source_system, source_object, source_record_id, person_record_id, message
    from {{ ref('int_quality__document_exceptions') }}
    union all
    select rule_code, source_system, source_object, source_record_id, person_record_id, message
    from {{ ref('int_quality__date_and_reference_exceptions') }}
    union all
    select rule_code, source_system, source_object, source_record_id, person_record_id, message
    from {{ ref('int_quality__person_exceptions') }}
),

rules as (
    select rule_code, severity from {{ ref('quality_rules') }}
),

keys as (
    select source_system, source_record_id, person_key from {{ ref('int_identity__person_keys') }}
),

-- The casework team of each child: the team on their latest request.
child_teams as (
    select distinct on (person_key) person_key, team
    from {{ ref('int_requests') }}
    where person_key is not null and team is not null
    order by person_key, received_date desc nulls last, casework_request_id desc
),

exceptions as (
    select
        md5(findings.rule_code || '|' || findings.source_system || '|' || findings.source_object || '|'
            || findings.source_record_id) as exception_key,
        findings.rule_code,
        coalesce(rules.severity, 'error') as severity,
        findings.source_system,
        findings.source_object,
        findings.source_record_id,
        keys.person_key,
        child_teams.team as casework_team,
        findings.message
    from findings
    left join rules on rules.rule_code = findings.rule_code
    left join keys on keys.source_system = findings.source_system and keys.source_record_id = findings.person_record_id
    left join child_teams on child_teams.person_key = keys.person_key
)

select * from exceptions
