{#-
    DUPLICATE_PERSON, UNLINKED_PERSON, EHCP_FLAG_WITHOUT_PLAN and LOOKED_AFTER_UNKNOWN_TO_CASEWORK:
    findings about children, raised on the source record someone has to act on.

    DUPLICATE_PERSON: identity resolution linked two or more records of one system to one
    child (is_within_system_duplicate). The record opened first is the original and is left
    alone; every later one is raised (to be merged into it). "Opened first" is the earliest
    activity the source holds (casework: first request received; education: first placement
    start; social care: first involvement start), then the lowest record id.
    The other three are the per-record form of fct_cross_system_gaps' findings of the same
    names (plan_without_education_record is UNLINKED_PERSON), raised on the casework person
    holding the active plan, the pupil flagged E, and the looked-after social care child.
-#}

with

keys as (
    select source_system, source_record_id, person_key, is_within_system_duplicate
    from {{ ref('int_identity__person_keys') }}
),

first_activity as (
    select 'casework' as source_system, casework_person_id::text as source_record_id, min(received_date) as first_active_on
    from {{ ref('stg_casework__requests') }} group by casework_person_id
    union all
    select 'education', pupil_ref, min(start_date) from {{ ref('stg_education__placements') }} group by pupil_ref
    union all
    select 'socialcare', socialcare_child_id, min(start_date)
    from {{ ref('stg_socialcare__involvements') }} group by socialcare_child_id
),

duplicates as (
    select
        keys.source_system,
        keys.source_record_id,
        row_number() over (
            partition by keys.person_key, keys.source_system
            order by first_activity.first_active_on nulls last, length(keys.source_record_id), keys.source_record_id
        ) as opened_rank,
        first_value(keys.source_record_id) over (
            partition by keys.person_key, keys.source_system
            order by first_activity.first_active_on nulls last, length(keys.source_record_id), keys.source_record_id
        ) as original_record_id
    from keys
    left join first_activity
        on first_activity.source_system = keys.source_system and first_activity.source_record_id = keys.source_record_id
    where keys.is_within_system_duplicate
),

active_plans as (
    select casework_plan_id, casework_person_id, person_key
    from {{ ref('int_plans') }}
    where issued_date <= {{ as_of_date() }}
      and (ceased_date is null or ceased_date > {{ as_of_date() }})
),

children as (
    select
        person_key,
        bool_or(source_system = 'casework') as in_casework,
        bool_or(source_system = 'education') as in_education
    from keys
    group by person_key
),

flagged_pupils as (
    select pupils.pupil_ref, keys.person_key
    from {{ ref('stg_education__pupils') }} as pupils
    inner join keys on keys.source_system = 'education' and keys.source_record_id = pupils.pupil_ref
    where pupils.sen_provision = 'E'
),

looked_after as (
    select distinct socialcare_child_id, person_key
    from {{ ref('int_involvements') }}
    where person_key is not null
      and involvement_type = 'CLA'
      and (start_date is null or start_date <= {{ as_of_date() }})
      and (end_date is null or end_date >= {{ as_of_date() }})
),

-- Children with an active plan and no education record, raised once per casework person (first plan).
unlinked as (
    select distinct on (active_plans.casework_person_id) active_plans.casework_person_id, active_plans.casework_plan_id
    from active_plans
    left join children on children.person_key = active_plans.person_key
    where not coalesce(children.in_education, false)
    order by active_plans.casework_person_id, active_plans.casework_plan_id
),

system_labels as (
    select * from (values
        ('casework', 'cw_person', 'Casework person ', 'casework'),
        ('education', 'pupils', 'Education pupil ', 'the school information system'),
        ('socialcare', 'children', 'Social care child ', 'the social care system')
    ) as labels (source_system, source_object, record_label, system_name)
),

findings as (
    select
        duplicates.source_system,
        system_labels.source_object,
        duplicates.source_record_id,
        duplicates.source_record_id as person_record_id,
        'DUPLICATE_PERSON' as rule_code,
        system_labels.record_label || duplicates.source_record_id || ' appears to be a second record of the same child as '
            || lower(system_labels.record_label) || duplicates.original_record_id || '. Check them and merge this record into '
            || duplicates.original_record_id || ' in ' || system_labels.system_name || '.' as message
    from duplicates
    inner join system_labels on system_labels.source_system = duplicates.source_system
    where duplicates.opened_rank > 1

    union all
    select
        'casework',
        'cw_person',
        unlinked.casework_person_id::text,
        unlinked.casework_person_id::text,
        'UNLINKED_PERSON',
        'Casework person ' || unlinked.casework_person_id || ' has an active EHC plan (plan '
            || unlinked.casework_plan_id || ') but could not be linked to any pupil record in the education system.'
            || ' Check the UPN, name and date of birth on the casework record, and ask the education team whether the'
            || ' child is on roll.'
    from unlinked

    union all
    select
        'education',
        'pupils',
        flagged_pupils.pupil_ref,
        flagged_pupils.pupil_ref,
        'EHCP_FLAG_WITHOUT_PLAN',
        'Education pupil ' || flagged_pupils.pupil_ref || ' is recorded with an EHC plan (SENProvision E) but casework '
            || case when children.in_casework then 'has no active plan for the child'
                    else 'holds no record of the child' end
            || '. Correct the SEN provision in the school information system, or ask the SEND team to record the plan.'
    from flagged_pupils
    inner join children on children.person_key = flagged_pupils.person_key
    where not exists (select 1 from active_plans where active_plans.person_key = flagged_pupils.person_key)

    union all
    select distinct
        'socialcare',
        'children',
        looked_after.socialcare_child_id,
        looked_after.socialcare_child_id,
        'LOOKED_AFTER_UNKNOWN_TO_CASEWORK',
        'Social care child ' || looked_after.socialcare_child_id || ' is looked after and education records an EHC plan,'
            || ' but casework holds no record of the child. Ask the SEND team to find or open the casework record.'
    from looked_after
    inner join children on children.person_key = looked_after.person_key
    where not children.in_casework
      and exists (select 1 from flagged_pupils where flagged_pupils.person_key = looked_after.person_key)
)

select * from findings
