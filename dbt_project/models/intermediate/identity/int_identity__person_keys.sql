{#-
    Tonight's answer: every source record with its person_key (from the registry: the record's
    latest assignment on or before as_of_date) and the evidence that put it in its cluster
    (its strongest link to another record of the same cluster).
-#}

with

clusters as (
    select * from {{ ref('int_identity__clusters') }}
),

registry as (
    select distinct on (record_uid) record_uid, person_key, assigned_on
    from {{ ref('int_person_key_registry') }}
    where assigned_on <= {{ as_of_date() }}
    order by record_uid, assigned_on desc
),

kept_links as (
    -- links that survived clustering: both ends in one cluster
    select links.record_uid_l, links.record_uid_r, links.link_rule, links.link_confidence, links.match_weight
    from {{ ref('int_identity__links') }} as links
    inner join clusters as l on l.record_uid = links.record_uid_l
    inner join clusters as r on r.record_uid = links.record_uid_r
    where l.cluster_id = r.cluster_id
),

incident as (
    select record_uid_l as record_uid, link_rule, link_confidence, match_weight, record_uid_r as other_uid from kept_links
    union all
    select record_uid_r, link_rule, link_confidence, match_weight, record_uid_l from kept_links
),

best_link as (
    select distinct on (record_uid) record_uid, link_rule, link_confidence
    from incident
    order by record_uid, link_confidence desc, match_weight desc, other_uid
),

final as (
    select
        registry.person_key,
        clusters.record_uid,
        clusters.source_system,
        clusters.source_record_id,
        clusters.cluster_id,
        clusters.cluster_size,
        clusters.resolved_by,
        coalesce(best_link.link_rule, 'single_record') as link_rule,
        coalesce(best_link.link_confidence, 1.0)::numeric(4, 3) as link_confidence,
        registry.assigned_on as key_assigned_on,
        count(*) over (partition by registry.person_key, clusters.source_system) > 1 as is_within_system_duplicate
    from clusters
    inner join registry on registry.record_uid = clusters.record_uid
    left join best_link on best_link.record_uid = clusters.record_uid
)

select * from final
