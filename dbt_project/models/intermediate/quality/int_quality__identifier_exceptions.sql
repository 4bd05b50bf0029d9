{#-
    UPN_FORMAT, UPN_CHECK_LETTER, ULN_FORMAT, ULN_CHECK_DIGIT, NHS_FORMAT, NHS_CHECK_DIGIT: one
    row per person record (casework person, education pupil, social care child) whose
    identifier is present but malformed or fails its check. The same macros decide as for
    identity resolution (macros/identifiers/), so a UPN the matcher distrusts is the one the
    records team is asked to fix. Messages name the record, never the identifier's value.
-#}

with

person_records as (
    select 'casework' as source_system, 'cw_person' as source_object, casework_person_id::text as source_record_id,
           'Casework person ' || casework_person_id as record_label, upn, uln, null::text as nhs_number,
           'the casework person record' as where_to_fix
    from {{ ref('stg_casework__persons') }}
    union all
    select 'education', 'pupils', pupil_ref, 'Education pupil ' || pupil_ref, upn, uln, null::text,
           'the pupil record in the school information system'
    from {{ ref('stg_education__pupils') }}
    union all
    select 'socialcare', 'children', socialcare_child_id, 'Social care child ' || socialcare_child_id, upn, null::text, nhs_number,
           'the child''s record in the social care system'
    from {{ ref('stg_socialcare__children') }}
),

statuses as (
    select
        *,
        {{ upn_status('upn') }} as upn_status,
        {{ uln_status('uln') }} as uln_status,
        {{ nhs_number_status('nhs_number') }} as nhs_status
    from person_records
),

findings as (
    select source_system, source_object, source_record_id, source_record_id as person_record_id, 'UPN_FORMAT' as rule_code,
           record_label || ': the UPN is not 13 characters of the right shape (a letter, then 12 digits, or 11 digits'
           || ' and a letter). Correct it in ' || where_to_fix || ' from the school''s or the DfE''s record.' as message
    from statuses where upn_status = 'format'
    union all
    select source_system, source_object, source_record_id, source_record_id, 'UPN_CHECK_LETTER',
           record_label || ': the UPN''s first letter does not match its digits (a mistyped character). Check the UPN'
           || ' against the school''s or the DfE''s record and correct it in ' || where_to_fix || '.'
    from statuses where upn_status = 'check_letter'
    union all
    select source_system, source_object, source_record_id, source_record_id, 'ULN_FORMAT',
           record_label || ': the ULN is not 10 digits. Correct it in ' || where_to_fix
           || ' from the Learning Records Service.'
    from statuses where uln_status = 'format'
    union all
    select source_system, source_object, source_record_id, source_record_id, 'ULN_CHECK_DIGIT',
           record_label || ': the ULN fails its check digit (a mistyped digit). Correct it in ' || where_to_fix
           || ' from the Learning Records Service.'
    from statuses where uln_status = 'check_digit'
    union all
    select source_system, source_object, source_record_id, source_record_id, 'NHS_FORMAT',
           record_label || ': the NHS number is not 10 digits. Correct it in ' || where_to_fix
           || ' (the GP or the NHS Personal Demographics Service has the right number).'
    from statuses where nhs_status = 'format'
    union all
    select source_system, source_object, source_record_id, source_record_id, 'NHS_CHECK_DIGIT',
           record_label || ': the NHS number fails its modulus-11 check (a mistyped digit). Correct it in '
           || where_to_fix || ' (the GP or the NHS Personal Demographics Service has the right number).'
    from statuses where nhs_status = 'check_digit'
)

select * from findings
