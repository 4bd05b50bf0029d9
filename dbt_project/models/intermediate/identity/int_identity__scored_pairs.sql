{#-
    Every candidate pair compared field by field (comparison levels: macros/identifiers/
    identity_rules.sql), scored, and decided.

    match_weight adds one weight per field, roughly log2 of how much likelier the observed
    agreement is for one child than for two (Fellegi-Sunter), set by hand and documented in
    _identity__models.yml. Decisions, in order:
      conflict   the hard NO-MERGE rule holds (different valid UPNs or NHS numbers, or twins)
      link       a valid UPN, NHS number or ULN is shared and the date of birth or the names
                 corroborate it (deterministic), or match_weight >= identity_link_threshold
      possible   a shared identifier whose person details disagree, or
                 identity_review_threshold <= match_weight < identity_link_threshold:
                 left apart and raised for review
      non_match  anything else
-#}
{%- set link_threshold = var('identity_link_threshold', 16) -%}
{%- set review_threshold = var('identity_review_threshold', 10) -%}
{%- set weights = {
    'forename': {'exact': 6, 'variant': 5, 'typo': 4, 'partial': 2, 'initial': 1, 'different': -5},
    'surname': {'exact': 6, 'variant': 4, 'typo': 4, 'subset': 4, 'different': -2},
    'dob': {'exact': 7, 'swapped': 4, 'typo': 2, 'different': -7},
    'postcode': {'exact': 5, 'sector': -4, 'district': -4, 'different': -4},
    'sex': {'same': 0.5, 'different': -4},
    'upn': {'same_valid': 20, 'check_letter': 9, 'same_value': 6, 'near': 6},
    'nhs': {'same_valid': 20, 'same_value': 6, 'near': 6},
    'uln': {'same_valid': 20, 'conflict': -10},
} -%}

with

pairs as (
    select * from {{ ref('int_identity__candidate_pairs') }}
),

records as (
    select
        record_uid, source_system, forename_compact, forename_first, forename_groups, surname_compact, surname_match,
        surname_tokens, surname_groups, surname_metaphone, date_of_birth, dob_swapped, dob_digits, postcode_compact,
        postcode_sector, postcode_district, sex_known, upn_link_value, upn_link_valid, upn_body, nhs_number, nhs_valid,
        uln, uln_valid
    from {{ ref('int_identity__person_records') }}
),

compared as (
    select
        pairs.record_uid_l,
        pairs.record_uid_r,
        l.source_system as source_system_l,
        r.source_system as source_system_r,
        pairs.blocks,
        name_levels.forename_level,
        name_levels.surname_level,
        {{ identity_dob_level('l', 'r') }} as dob_level,
        {{ identity_postcode_level('l', 'r') }} as postcode_level,
        name_levels.sex_level,
        {{ identity_upn_level('l', 'r') }} as upn_level,
        {{ identity_nhs_level('l', 'r') }} as nhs_level,
        {{ identity_uln_level('l', 'r') }} as uln_level,
        {{ identity_hard_conflict('l', 'r', 'name_levels.forename_level', 'name_levels.surname_level',
                                  'name_levels.sex_level') }} as hard_conflict
    from pairs
    inner join records as l on l.record_uid = pairs.record_uid_l
    inner join records as r on r.record_uid = pairs.record_uid_r
    cross join lateral (
        -- computed once, read by the levels and by the hard NO-MERGE rule
        select
            {{ identity_forename_level('l', 'r') }} as forename_level,
            {{ identity_surname_level('l', 'r') }} as surname_level,
            {{ identity_sex_level('l', 'r') }} as sex_level
    ) as name_levels
),

weighed as (
    select
        compared.*,
        (
            {%- for field, levels in weights.items() %}
            case {{ field }}_level
                {%- for level, weight in levels.items() %}
                when '{{ level }}' then {{ weight }}
                {%- endfor %}
                else 0
            end{% if not loop.last %} +{% endif %}
            {%- endfor %}
        )::numeric(6, 1) as match_weight,
        case
            when upn_level = 'same_valid' then 'upn'
            when nhs_level = 'same_valid' then 'nhs_number'
            when uln_level = 'same_valid' then 'uln'
        end as shared_identifier,
        coalesce(
            dob_level in ('exact', 'swapped', 'typo')
            or (forename_level in ('exact', 'variant', 'typo', 'partial', 'initial')
                and surname_level in ('exact', 'variant', 'typo', 'subset')),
            false
        ) as details_corroborate
    from compared
),

decided as (
    select
        weighed.*,
        case
            when hard_conflict is not null then 'conflict'
            when shared_identifier is not null and details_corroborate then 'link'
            when shared_identifier is not null then 'possible'
            when match_weight >= {{ link_threshold }} then 'link'
            when match_weight >= {{ review_threshold }} then 'possible'
            else 'non_match'
        end as decision
    from weighed
),

final as (
    select
        record_uid_l,
        record_uid_r,
        source_system_l,
        source_system_r,
        blocks,
        forename_level,
        surname_level,
        dob_level,
        postcode_level,
        sex_level,
        upn_level,
        nhs_level,
        uln_level,
        hard_conflict,
        shared_identifier,
        details_corroborate,
        match_weight,
        decision,
        case
            when shared_identifier is not null then shared_identifier
            when upn_level in ('check_letter', 'same_value', 'near') then 'upn_keying_error'
            when nhs_level in ('same_value', 'near') then 'nhs_number_keying_error'
            else 'name'
                || case dob_level
                    when 'exact' then '_dob'
                    when 'swapped' then '_swapped_dob'
                    when 'typo' then '_dob_typo'
                    else ''
                end
                || case when postcode_level in ('exact', 'sector') then '_postcode' else '' end
        end as link_rule,
        case
            when shared_identifier is not null and details_corroborate then 1.0
            else round((1 / (1 + power(2::numeric, -(match_weight - {{ link_threshold - 4 }}))))::numeric, 3)
        end as link_confidence
    from decided
)

select * from final
