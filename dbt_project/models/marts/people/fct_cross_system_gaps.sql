{#-
    One row per child per finding: what one system knows and another does not, or where linked
    records disagree. `details` names source records (ids only) and never an identifying value.
-#}

with

keys as (
    select * from {{ ref('int_identity__person_keys') }}
),

records as (
    select keys.person_key, records.*
    from {{ ref('int_identity__person_records') }} as records
    inner join keys on keys.record_uid = records.record_uid
),

active_plans as (
    select person_key, casework_plan_id, issued_date
    from {{ ref('int_plans') }}
    where person_key is not null
      and issued_date <= {{ as_of_date() }}
      and (ceased_date is null or ceased_date > {{ as_of_date() }})
),

open_cla as (
    select person_key, socialcare_child_id, start_date
    from {{ ref('int_involvements') }}
    where person_key is not null
      and involvement_type = 'CLA'
      and (start_date is null or start_date <= {{ as_of_date() }})
      and (end_date is null or end_date >= {{ as_of_date() }})
),

persons as (
    select
        person_key,
        bool_or(source_system = 'casework') as in_casework,
        bool_or(source_system = 'education') as in_education,
        bool_or(source_system = 'education' and sen_provision = 'E') as education_says_ehc_plan,
        string_agg(case when source_system = 'education' then record_uid end, ', ' order by record_uid) as education_records,
        string_agg(case when source_system = 'education' and sen_provision = 'E' then record_uid end, ', '
                   order by record_uid) as education_records_with_plan
    from records
    group by person_key
),

plans_of_person as (
    select
        person_key,
        string_agg('plan ' || casework_plan_id || ' issued ' || issued_date, ', ' order by issued_date, casework_plan_id) as plans
    from active_plans
    group by person_key
),

record_pairs as (
    -- every pair of linked records of one child, compared with the identity rules
    select
        l.person_key,
        l.record_uid as uid_l,
        r.record_uid as uid_r,
        l.date_of_birth is distinct from r.date_of_birth and l.date_of_birth is not null and r.date_of_birth is not null
            as dob_differs,
        {{ identity_dob_level('l', 'r') }} as dob_level,
        (l.forename_compact is distinct from r.forename_compact and l.forename_compact is not null
            and r.forename_compact is not null) as forename_differs,
        {{ identity_forename_level('l', 'r') }} as forename_level,
        (l.surname_compact is distinct from r.surname_compact and l.surname_compact is not null
            and r.surname_compact is not null) as surname_differs,
        {{ identity_surname_level('l', 'r') }} as surname_level,
        {{ identity_sex_level('l', 'r') }} as sex_level,
        l.upn_link_value is not null and r.upn_link_value is not null and l.upn_link_value <> r.upn_link_value
            as upn_differs,
        l.upn_status as upn_status_l,
        r.upn_status as upn_status_r
    from records as l
    inner join records as r on r.person_key = l.person_key and r.record_uid > l.record_uid
),

findings as (
    select
        persons.person_key,
        'plan_without_education_record' as finding,
        'Active EHC plan (casework ' || plans_of_person.plans || ') but no education record is linked to this child.'
            as details
    from persons
    inner join plans_of_person on plans_of_person.person_key = persons.person_key
    where not persons.in_education

    union all
    select
        persons.person_key,
        'ehcp_flag_without_plan',
        'Education (' || persons.education_records_with_plan || ') records an EHC plan (SENProvision E) but '
            || case when persons.in_casework then 'casework has no active plan for this child.'
                    else 'casework holds no record of this child.' end
    from persons
    where persons.education_says_ehc_plan
      and not exists (select 1 from active_plans where active_plans.person_key = persons.person_key)

    union all
    select
        persons.person_key,
        'looked_after_with_plan_unknown_to_casework',
        'Looked after (social care ' || string_agg(distinct open_cla.socialcare_child_id, ', ') || ', CLA open since '
            || coalesce(min(open_cla.start_date)::text, 'an unknown date') || ') with an EHC plan recorded by education ('
            || persons.education_records_with_plan || '), but casework holds no record of this child.'
    from persons
    inner join open_cla on open_cla.person_key = persons.person_key
    where persons.education_says_ehc_plan and not persons.in_casework
    group by persons.person_key, persons.education_records_with_plan

    union all
    select
        persons.person_key,
        'plan_not_flagged_in_education',
        'Active EHC plan (casework ' || plans_of_person.plans || ') but education (' || persons.education_records
            || ') does not record an EHC plan (SENProvision is not E).'
    from persons
    inner join plans_of_person on plans_of_person.person_key = persons.person_key
    where persons.in_education and not persons.education_says_ehc_plan

    union all
    select
        person_key,
        'conflicting_dob',
        'Dates of birth differ between linked records: ' || string_agg(
            uid_l || ' / ' || uid_r || ' (' || case dob_level
                when 'swapped' then 'day and month swapped'
                when 'typo' then 'one digit differs'
                else 'different dates'
            end || ')', '; ' order by uid_l, uid_r) || '.'
    from record_pairs
    where dob_differs
    group by person_key

    union all
    select
        person_key,
        'conflicting_name',
        'Names differ between linked records: ' || string_agg(
            uid_l || ' / ' || uid_r || ' (' || concat_ws(', ',
                case when forename_differs then 'forename ' || case forename_level
                    when 'variant' then 'a nickname or transliteration'
                    when 'typo' then 'spelt differently'
                    when 'partial' then 'shortened'
                    when 'initial' then 'an initial only'
                    else 'different' end end,
                case when surname_differs then 'surname ' || case surname_level
                    when 'variant' then 'a transliteration'
                    when 'typo' then 'spelt differently'
                    when 'subset' then 'double-barrelled in one only'
                    else 'different' end end
            ) || ')', '; ' order by uid_l, uid_r) || '.'
    from record_pairs
    where forename_differs or surname_differs
    group by person_key

    union all
    select
        person_key,
        'conflicting_sex',
        'Sex differs between linked records: ' || string_agg(uid_l || ' / ' || uid_r, '; ' order by uid_l, uid_r) || '.'
    from record_pairs
    where sex_level = 'different'
    group by person_key

    union all
    select
        person_key,
        'conflicting_upn',
        'UPNs differ between linked records: ' || string_agg(
            uid_l || ' (' || replace(upn_status_l, '_', ' ') || ') / ' || uid_r || ' (' || replace(upn_status_r, '_', ' ') || ')',
            '; ' order by uid_l, uid_r) || '.'
    from record_pairs
    where upn_differs
    group by person_key

    union all
    select
        review.person_key,
        'possible_unlinked_match',
        'Possibly the same child as another person: ' || string_agg(
            review.own_record || ' / ' || review.other_record || ' (' || replace(review.reason, '_', ' ') || ')',
            '; ' order by review.own_record, review.other_record) || '. Left apart: check and correct the records.'
    from (
        select person_key_l as person_key, record_uid_l as own_record, record_uid_r as other_record, reason
        from {{ ref('int_identity__review_queue') }}
        union all
        select person_key_r, record_uid_r, record_uid_l, reason
        from {{ ref('int_identity__review_queue') }}
    ) as review
    group by review.person_key
)

select
    md5(person_key || ':' || finding) as finding_key,
    person_key,
    finding::text as finding,
    {{ as_of_date() }} as detected_on,
    details::text as details
from findings
