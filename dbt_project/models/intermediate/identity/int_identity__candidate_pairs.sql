{#-
    Candidate pairs by blocking: two records are compared only when they share at least one
    blocking key, so the work grows with the size of the blocks, not with the square of the
    number of records. A key shared by more than `identity_max_block_size` records is skipped
    (junk such as a placeholder date of birth must not explode the pair count); its pairs can
    still meet in another block.
-#}
{%- set max_block_size = var('identity_max_block_size', 200) -%}
{{ config(pre_hook="set local work_mem = '128MB'") }}

with

records as (
    select
        record_uid, upn_body, upn_link_value, nhs_valid, nhs_number, uln_valid, uln, date_of_birth, dob_unordered,
        postcode_compact, forename_soundex, forename_groups, surname_soundex, surname_tokens
    from {{ ref('int_identity__person_records') }}
),

surname_codes as (
    -- the whole surname's soundex and each part's (a double-barrelled surname meets either part)
    select records.record_uid, records.dob_unordered, records.date_of_birth, code
    from records
    cross join lateral (
        select records.surname_soundex as code
        union
        select nullif(soundex(token), '') from regexp_split_to_table(records.surname_tokens, ' ') as token
    ) as codes
    where code is not null and records.date_of_birth is not null
),

forename_codes as (
    -- the first forename's soundex and its nickname/transliteration groups (Mohammed meets Muhammad)
    select records.record_uid, records.date_of_birth, code
    from records
    cross join lateral (
        select records.forename_soundex as code
        union
        select 'g:' || variant_group from regexp_split_to_table(records.forename_groups, ' ') as variant_group
    ) as codes
    where code is not null and records.date_of_birth is not null
),

blocking_keys as (
    -- identifiers: the UPN without its check letter (finds wrong check letters), a malformed
    -- UPN as keyed, a valid NHS number, a valid ULN
    select record_uid, 'upn' as block, upn_body as block_key
    from records where upn_body is not null
    union all
    select record_uid, 'upn_as_keyed', upn_link_value
    from records where upn_body is null and length(upn_link_value) >= 10
    union all
    select record_uid, 'nhs_number', nhs_number
    from records where nhs_valid
    union all
    select record_uid, 'uln', uln
    from records where uln_valid
    -- date of birth (or its day/month swap) + surname sound
    union all
    select record_uid, 'dob_surname', dob_unordered || ':' || code
    from surname_codes
    -- date of birth (or its swap) + postcode: a changed surname at the same address
    union all
    select record_uid, 'dob_postcode', dob_unordered || ':' || postcode_compact
    from records where date_of_birth is not null and postcode_compact is not null
    -- postcode + forename sound: a changed surname and a mistyped date of birth at one address
    union all
    select record_uid, 'postcode_forename', postcode_compact || ':' || forename_soundex
    from records where postcode_compact is not null and forename_soundex is not null
    -- exact date of birth + forename sound or variant group: a changed surname anywhere
    union all
    select record_uid, 'dob_forename', date_of_birth::text || ':' || code
    from forename_codes
    -- a digit mistyped in the day: birth year and month + forename sound + surname sound
    union all
    select record_uid, 'yearmonth_names', to_char(date_of_birth, 'YYYYMM') || ':' || forename_soundex || ':' || surname_soundex
    from records where date_of_birth is not null and forename_soundex is not null and surname_soundex is not null
    -- a digit mistyped in the month: birth year and day + forename sound + surname sound
    union all
    select record_uid, 'yearday_names', to_char(date_of_birth, 'YYYYDD') || ':' || forename_soundex || ':' || surname_soundex
    from records where date_of_birth is not null and forename_soundex is not null and surname_soundex is not null
    -- a digit mistyped in the year: day and month + forename sound + surname sound
    union all
    select record_uid, 'daymonth_names', to_char(date_of_birth, 'MMDD') || ':' || forename_soundex || ':' || surname_soundex
    from records where date_of_birth is not null and forename_soundex is not null and surname_soundex is not null
),

blocks as (
    -- each key's records; a key held by one record pairs nothing, one held by too many is skipped
    select block, array_agg(record_uid) as members
    from blocking_keys
    group by block, block_key
    having count(*) between 2 and {{ max_block_size }}
),

pairs as (
    select
        left_member.record_uid as record_uid_l,
        right_member.record_uid as record_uid_r,
        string_agg(distinct blocks.block, ',' order by blocks.block) as blocks
    from blocks
    cross join lateral unnest(blocks.members) as left_member (record_uid)
    cross join lateral unnest(blocks.members) as right_member (record_uid)
    where right_member.record_uid > left_member.record_uid
    group by left_member.record_uid, right_member.record_uid
)

select * from pairs
