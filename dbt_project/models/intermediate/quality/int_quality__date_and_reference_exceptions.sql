{#-
    DATE_ORDER and ORPHAN_REFERENCE, one row per record (a request, plan, review, document,
    placement or social care child) however many of its dates or references are wrong; the
    message lists them all. The date pairs are the validation suites' (expectations/): a later
    step dated before an earlier one. A reference is orphaned when the record it points to is
    not in tonight's state of its source (staging).
-#}

with

requests as (select * from {{ ref('stg_casework__requests') }}),
plans as (select * from {{ ref('stg_casework__plans') }}),
reviews as (select * from {{ ref('int_reviews') }}),
documents as (select * from {{ ref('stg_casework__documents') }}),
persons as (select casework_person_id from {{ ref('stg_casework__persons') }}),
placements as (select * from {{ ref('stg_education__placements') }}),
pupils as (select pupil_ref from {{ ref('stg_education__pupils') }}),
establishments as (select urn from {{ ref('stg_education__establishments') }}),
involvements as (select * from {{ ref('stg_socialcare__involvements') }}),

-- (record, earlier step, later step): the later must not be dated before the earlier.
date_pairs as (
    select 'casework' as source_system, 'cw_request' as source_object, casework_request_id::text as source_record_id,
           casework_person_id::text as person_record_id, 'Casework request ' || casework_request_id as record_label,
           'received date' as earlier_name, received_date as earlier, 'decision date' as later_name, decision_date as later
    from requests
    union all
    select 'casework', 'cw_request', casework_request_id::text, casework_person_id::text, 'Casework request ' || casework_request_id,
           'decision date', decision_date, 'outcome date', outcome_date from requests
    union all
    select 'casework', 'cw_request', casework_request_id::text, casework_person_id::text, 'Casework request ' || casework_request_id,
           'received date', received_date, 'outcome date', outcome_date from requests
    union all
    select 'casework', 'cw_request', casework_request_id::text, casework_person_id::text, 'Casework request ' || casework_request_id,
           'received date', received_date, 'draft plan date', draft_issued_date from requests
    union all
    select 'casework', 'cw_request', casework_request_id::text, casework_person_id::text, 'Casework request ' || casework_request_id,
           'draft plan date', draft_issued_date, 'outcome date', outcome_date from requests
    union all
    select 'casework', 'cw_plan', casework_plan_id::text, casework_person_id::text, 'Casework plan ' || casework_plan_id,
           'issue date', issued_date, 'ceased date', ceased_date from plans
    union all
    select 'casework', 'cw_review', casework_review_id::text, casework_person_id::text, 'Casework review ' || casework_review_id,
           'meeting date', meeting_date, 'decision date', decision_date from reviews
    union all
    select 'casework', 'cw_review', casework_review_id::text, casework_person_id::text, 'Casework review ' || casework_review_id,
           'meeting date', meeting_date, 'amended plan date', amended_plan_date from reviews
    union all
    select 'casework', 'cw_document', casework_document_id::text, casework_person_id::text, 'Casework document ' || casework_document_id,
           'filed date', filed_at::date, 'deleted date', deleted_at::date from documents
    union all
    select 'education', 'placements', placement_id, pupil_ref, 'Education placement ' || placement_id || ' (pupil ' || pupil_ref || ')',
           'start date', start_date, 'end date', end_date from placements
    union all
    select 'socialcare', 'children', socialcare_child_id, socialcare_child_id,
           'Social care child ' || socialcare_child_id || ' (involvement ' || involvement_number || ')',
           'start date', start_date, 'end date', end_date from involvements
),

date_findings as (
    select
        source_system,
        source_object,
        source_record_id,
        min(person_record_id) as person_record_id,
        'DATE_ORDER' as rule_code,
        string_agg(record_label || ': the ' || later_name || ' (' || later || ') is before the ' || earlier_name
                   || ' (' || earlier || ')', '; ' order by record_label, earlier_name, later_name)
            || '. Correct whichever date was keyed wrongly.' as message
    from date_pairs
    where later < earlier
    group by source_system, source_object, source_record_id
),

-- (record, what it points to, the id it points to, whether that record exists)
references_ as (
    select 'casework' as source_system, 'cw_request' as source_object,
           requests.casework_request_id::text as source_record_id,
           requests.casework_person_id::text as person_record_id,
           'Casework request ' || requests.casework_request_id as record_label,
           'person ' || requests.casework_person_id as target
    from requests left join persons using (casework_person_id)
    where persons.casework_person_id is null
    union all
    select 'casework', 'cw_plan', plans.casework_plan_id::text, plans.casework_person_id::text,
           'Casework plan ' || plans.casework_plan_id, 'person ' || plans.casework_person_id
    from plans left join persons using (casework_person_id)
    where persons.casework_person_id is null
    union all
    select 'casework', 'cw_plan', plans.casework_plan_id::text, plans.casework_person_id::text,
           'Casework plan ' || plans.casework_plan_id, 'request ' || plans.casework_request_id
    from plans left join requests using (casework_request_id)
    where plans.casework_request_id is not null and requests.casework_request_id is null
    union all
    select 'casework', 'cw_review', reviews.casework_review_id::text, null, 'Casework review ' || reviews.casework_review_id,
           'plan ' || reviews.casework_plan_id
    from {{ ref('stg_casework__reviews') }} as reviews left join plans using (casework_plan_id)
    where plans.casework_plan_id is null
    union all
    select 'casework', 'cw_document', documents.casework_document_id::text, documents.casework_person_id::text,
           'Casework document ' || documents.casework_document_id, 'person ' || documents.casework_person_id
    from documents left join persons using (casework_person_id)
    where persons.casework_person_id is null
    union all
    select 'casework', 'cw_document', documents.casework_document_id::text, documents.casework_person_id::text,
           'Casework document ' || documents.casework_document_id, 'request ' || documents.casework_request_id
    from documents left join requests using (casework_request_id)
    where documents.casework_request_id is not null and requests.casework_request_id is null
    union all
    select 'education', 'placements', placements.placement_id, placements.pupil_ref,
           'Education placement ' || placements.placement_id, 'pupil ' || placements.pupil_ref
    from placements left join pupils using (pupil_ref)
    where pupils.pupil_ref is null
    union all
    select 'education', 'placements', placements.placement_id, placements.pupil_ref,
           'Education placement ' || placements.placement_id, 'establishment URN ' || placements.urn
    from placements left join establishments using (urn)
    where placements.urn is not null and establishments.urn is null
),

reference_findings as (
    select
        source_system,
        source_object,
        source_record_id,
        min(person_record_id) as person_record_id,
        'ORPHAN_REFERENCE' as rule_code,
        min(record_label) || ' refers to ' || string_agg(target, ' and ' order by target)
            || ', which the source system does not hold. Point it at the right record, or restore the missing one.'
            as message
    from references_
    group by source_system, source_object, source_record_id
)

select * from date_findings
union all
select * from reference_findings
