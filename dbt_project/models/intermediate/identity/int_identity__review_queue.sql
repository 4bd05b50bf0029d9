{#-
    Pairs of records left apart that a person should look at: one row per pair and reason.
      possible_match           the evidence is suggestive but below the link threshold
      shared_identifier        a valid UPN, NHS number or ULN is shared but the dates of birth
                               and names disagree (the identifier may be keyed on the wrong child)
      shared_identifier_twins  a shared identifier on two records the twins rule keeps apart
      different_identifiers    details that would link (weight >= identity_link_threshold) on
                               records holding different valid UPNs or NHS numbers: two
                               children, or an identifier keyed on the wrong child
      competing_candidates     one record links about equally well to two records that must
                               never be one child (int_identity__links)
      refused_by_constraint    a link refused by constrained clustering
    Pairs that ended in one person_key are not listed.
-#}

with

scored as (
    select * from {{ ref('int_identity__scored_pairs') }}
    where decision in ('link', 'possible')
       or (decision = 'conflict' and shared_identifier is not null)
       or (decision = 'conflict' and hard_conflict <> 'twins' and match_weight >= {{ var('identity_link_threshold', 16) }})
),

kept_links as (
    select record_uid_l, record_uid_r from {{ ref('int_identity__links') }}
),

keys as (
    select record_uid, person_key, cluster_id from {{ ref('int_identity__person_keys') }}
),

classified as (
    select
        scored.*,
        l.person_key as person_key_l,
        r.person_key as person_key_r,
        case
            when scored.decision = 'conflict' and scored.shared_identifier is not null then 'shared_identifier_twins'
            when scored.decision = 'conflict' then 'different_identifiers'
            when scored.decision = 'possible' and scored.shared_identifier is not null then 'shared_identifier'
            when scored.decision = 'possible' then 'possible_match'
            when kept_links.record_uid_l is null then 'competing_candidates'
            else 'refused_by_constraint'
        end as reason
    from scored
    inner join keys as l on l.record_uid = scored.record_uid_l
    inner join keys as r on r.record_uid = scored.record_uid_r
    left join kept_links
        on kept_links.record_uid_l = scored.record_uid_l and kept_links.record_uid_r = scored.record_uid_r
    where l.person_key <> r.person_key
)

select
    record_uid_l,
    record_uid_r,
    source_system_l,
    source_system_r,
    person_key_l,
    person_key_r,
    reason,
    match_weight,
    link_rule,
    forename_level,
    surname_level,
    dob_level,
    postcode_level,
    sex_level,
    upn_level,
    nhs_level,
    uln_level,
    hard_conflict
from classified
