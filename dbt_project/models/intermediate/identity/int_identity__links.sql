{#-
    The links clustering may use: pairs decided `link`, less the ambiguous ones.

    A record is ambiguous when it links to two records that must never be one child (the hard
    NO-MERGE rule holds between them, e.g. "J Smith" against the twins Jack and Jacob Smith).
    If one of its links outweighs the other by at least `identity_competing_margin`, the weaker
    link is dropped; otherwise both are dropped and the record is left apart. Dropped links are
    raised in int_identity__review_queue.
-#}
{%- set margin = var('identity_competing_margin', 4) -%}

with

links as (
    select * from {{ ref('int_identity__scored_pairs') }}
    where decision = 'link'
),

records as (
    select * from {{ ref('int_identity__person_records') }}
),

incident as (
    select record_uid_l as record_uid, record_uid_r as other_uid, match_weight, record_uid_l, record_uid_r from links
    union all
    select record_uid_r, record_uid_l, match_weight, record_uid_l, record_uid_r from links
),

competing as (
    -- two links of one record whose other ends must never be merged
    select
        first_link.record_uid,
        first_link.record_uid_l as first_l,
        first_link.record_uid_r as first_r,
        first_link.match_weight as first_weight,
        second_link.record_uid_l as second_l,
        second_link.record_uid_r as second_r,
        second_link.match_weight as second_weight
    from incident as first_link
    inner join incident as second_link
        on second_link.record_uid = first_link.record_uid
        and second_link.other_uid > first_link.other_uid
    inner join records as a on a.record_uid = first_link.other_uid
    inner join records as b on b.record_uid = second_link.other_uid
    where {{ identity_hard_conflict('a', 'b') }} is not null
),

dropped as (
    select first_l as record_uid_l, first_r as record_uid_r
    from competing
    where first_weight < second_weight + {{ margin }}
    union
    select second_l, second_r
    from competing
    where second_weight < first_weight + {{ margin }}
),

final as (
    select links.*
    from links
    where not exists (
        select 1 from dropped
        where dropped.record_uid_l = links.record_uid_l and dropped.record_uid_r = links.record_uid_r
    )
)

select * from final
