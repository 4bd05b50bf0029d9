{#-
    Constrained clustering: which source records are one child tonight.

    1. Connected components of the links (a bounded recursive walk: each step only adds
       (component root, record) pairs not seen before, so it stops after the longest path).
    2. A component with no pair of members under the hard NO-MERGE rule is one cluster.
    3. A component that would join two records that must never be one child (A-B and B-C
       link, A and C are twins or hold different valid UPNs) is rebuilt greedily: its links
       are taken strongest first (deterministic identifier links outweigh any scored link;
       ties by record ids) and a link is refused when it would put such a pair into one
       cluster. The refused links are raised (int_identity__review_queue).

    cluster_id is the lowest record_uid of the cluster: a name for tonight only; the stable
    person_key comes from int_person_key_registry.
-#}

with recursive

records as (
    select * from {{ ref('int_identity__person_records') }}
),

links as (
    select record_uid_l, record_uid_r, match_weight from {{ ref('int_identity__links') }}
),

adjacency as (
    select record_uid_l as from_uid, record_uid_r as to_uid from links
    union all
    select record_uid_r, record_uid_l from links
),

reach (root_uid, record_uid) as (
    select distinct from_uid, from_uid from adjacency
    union
    select reach.root_uid, adjacency.to_uid
    from reach
    inner join adjacency on adjacency.from_uid = reach.record_uid
),

components as (
    select record_uid, min(root_uid) as component_id
    from reach
    group by record_uid
),

component_sizes as (
    select component_id, count(*) as members
    from components
    group by component_id
),

conflicting_members as (
    -- every pair of members of a component of three or more (a pair with a conflict is never a link)
    select left_member.component_id, left_member.record_uid as uid_x, right_member.record_uid as uid_y
    from components as left_member
    inner join component_sizes on component_sizes.component_id = left_member.component_id and component_sizes.members >= 3
    inner join components as right_member
        on right_member.component_id = left_member.component_id
        and right_member.record_uid > left_member.record_uid
    inner join records as x on x.record_uid = left_member.record_uid
    inner join records as y on y.record_uid = right_member.record_uid
    where {{ identity_hard_conflict('x', 'y') }} is not null
),

conflicted_components as (
    select distinct component_id from conflicting_members
),

members as (
    -- members of conflicted components, numbered within the component in record_uid order
    select
        components.component_id,
        components.record_uid,
        row_number() over (partition by components.component_id order by components.record_uid)::int as idx
    from components
    inner join conflicted_components on conflicted_components.component_id = components.component_id
),

ordered_links as (
    select
        from_member.component_id,
        row_number() over (
            partition by from_member.component_id
            order by links.match_weight desc, links.record_uid_l, links.record_uid_r
        )::int as step,
        from_member.idx as idx_l,
        to_member.idx as idx_r
    from links
    inner join members as from_member on from_member.record_uid = links.record_uid_l
    inner join members as to_member on to_member.record_uid = links.record_uid_r
),

conflict_index as (
    select conflicting_members.component_id, x.idx as idx_x, y.idx as idx_y
    from conflicting_members
    inner join members as x on x.record_uid = conflicting_members.uid_x
    inner join members as y on y.record_uid = conflicting_members.uid_y
),

greedy (component_id, step, labels) as (
    -- labels[i] = the cluster of member i, named by its lowest member index
    select component_id, 0, array_agg(idx order by idx)
    from members
    group by component_id
    union all
    select
        greedy.component_id,
        greedy.step + 1,
        case
            when merge.label_l = merge.label_r or merge.refused then greedy.labels
            else array(
                select case when label = greatest(merge.label_l, merge.label_r) then least(merge.label_l, merge.label_r) else label end
                from unnest(greedy.labels) with ordinality as member (label, position)
                order by member.position
            )
        end
    from greedy
    inner join ordered_links
        on ordered_links.component_id = greedy.component_id
        and ordered_links.step = greedy.step + 1
    cross join lateral (
        select
            greedy.labels[ordered_links.idx_l] as label_l,
            greedy.labels[ordered_links.idx_r] as label_r,
            exists (
                select 1
                from conflict_index
                where conflict_index.component_id = greedy.component_id
                  and greedy.labels[conflict_index.idx_x] in (greedy.labels[ordered_links.idx_l], greedy.labels[ordered_links.idx_r])
                  and greedy.labels[conflict_index.idx_y] in (greedy.labels[ordered_links.idx_l], greedy.labels[ordered_links.idx_r])
                  and greedy.labels[conflict_index.idx_x] <> greedy.labels[conflict_index.idx_y]
            ) as refused
    ) as merge
),

final_labels as (
    select distinct on (component_id) component_id, labels
    from greedy
    order by component_id, step desc
),

constrained as (
    select members.record_uid, cluster_member.record_uid as cluster_id
    from final_labels
    inner join members on members.component_id = final_labels.component_id
    inner join members as cluster_member
        on cluster_member.component_id = final_labels.component_id
        and cluster_member.idx = final_labels.labels[members.idx]
),

assigned as (
    select
        records.record_uid,
        records.source_system,
        records.source_record_id,
        coalesce(constrained.cluster_id, components.component_id, records.record_uid) as cluster_id,
        case
            when constrained.record_uid is not null then 'constrained'
            when components.record_uid is not null then 'linked'
            else 'single'
        end as resolved_by
    from records
    left join components on components.record_uid = records.record_uid
    left join constrained on constrained.record_uid = records.record_uid
),

final as (
    select
        assigned.*,
        count(*) over (partition by cluster_id) as cluster_size
    from assigned
)

select * from final
