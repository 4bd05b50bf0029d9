{#-
    The person_key registry: an append-only log of source record -> person_key assignments,
    one row each time a record is first seen or its key changes (assigned_on = the night).
    The key a record holds on night N is its latest row with assigned_on <= N.

    Each night, every cluster of int_identity__clusters takes a key:
      1. Each key held by some of tonight's records (their latest assignment before tonight)
         goes to the cluster holding it on most records (ties: the lowest cluster_id).
      2. A cluster that won keys keeps the one most of its records held (ties: the oldest key,
         then the lowest); the other keys it won retire (a merge).
      3. A cluster left without a key may take a key no cluster took in step 2 (same rules).
      4. Otherwise it mints md5('person:' || cluster_id) (cluster_id = its lowest record id),
         or md5('person:' || cluster_id || ':' || night) if that key was ever used before.
    So an edited record keeps its key, a new record joining a known child adopts the child's
    key, two children merged keep the better-held key, and the smaller part of a split gets a
    new key; every change is logged (change_type; int_person_key_changes).

    Reproducibility: tonight reads only rows of earlier nights, and a rerun of a night first
    deletes that night's rows (pre-hook), so a rerun of any old night recomputes exactly the
    rows it wrote the first time, given the same raw data. Past nights' keys are therefore
    reproducible from this log without a snapshot. Nights must be built in date order for
    keys to carry over. The model ignores --full-refresh (full_refresh=false): dropping it
    would re-mint keys (minting is deterministic, so most keys would come back the same).
-#}
{#- History kept across nights: never unlogged (a crash would empty it), unlike the models rebuilt every night. -#}
{{ config(
    materialized='incremental',
    unlogged=false,
    incremental_strategy='append',
    full_refresh=false,
    on_schema_change='append_new_columns',
    indexes=[{'columns': ['record_uid', 'assigned_on']}, {'columns': ['assigned_on']}],
    pre_hook="{% if is_incremental() %}delete from {{ this }} where assigned_on = {{ as_of_date() }}{% endif %}",
) }}

with

clusters as (
    select record_uid, source_system, source_record_id, cluster_id
    from {{ ref('int_identity__clusters') }}
),

history as (
    {% if is_incremental() %}
    select record_uid, person_key, assigned_on
    from {{ this }}
    where assigned_on < {{ as_of_date() }}
    {% else %}
    select null::text as record_uid, null::text as person_key, null::date as assigned_on
    where false
    {% endif %}
),

previous as (
    select distinct on (record_uid) record_uid, person_key
    from history
    order by record_uid, assigned_on desc
),

key_ages as (
    select person_key, min(assigned_on) as first_assigned_on
    from history
    group by person_key
),

members as (
    select clusters.*, previous.person_key as previous_key
    from clusters
    left join previous on previous.record_uid = clusters.record_uid
),

claims as (
    select
        members.cluster_id,
        members.previous_key as person_key,
        count(*) as holders,
        min(key_ages.first_assigned_on) as first_assigned_on
    from members
    inner join key_ages on key_ages.person_key = members.previous_key
    group by members.cluster_id, members.previous_key
),

key_winners_1 as (
    select distinct on (person_key) person_key, cluster_id, holders, first_assigned_on
    from claims
    order by person_key, holders desc, cluster_id
),

cluster_keys_1 as (
    select distinct on (cluster_id) cluster_id, person_key
    from key_winners_1
    order by cluster_id, holders desc, first_assigned_on, person_key
),

claims_2 as (
    select claims.*
    from claims
    where not exists (select 1 from cluster_keys_1 where cluster_keys_1.cluster_id = claims.cluster_id)
      and not exists (select 1 from cluster_keys_1 where cluster_keys_1.person_key = claims.person_key)
),

key_winners_2 as (
    select distinct on (person_key) person_key, cluster_id, holders, first_assigned_on
    from claims_2
    order by person_key, holders desc, cluster_id
),

cluster_keys_2 as (
    select distinct on (cluster_id) cluster_id, person_key
    from key_winners_2
    order by cluster_id, holders desc, first_assigned_on, person_key
),

kept as (
    select cluster_id, person_key from cluster_keys_1
    union all
    select cluster_id, person_key from cluster_keys_2
),

keyless as (
    select distinct members.cluster_id
    from members
    where not exists (select 1 from kept where kept.cluster_id = members.cluster_id)
),

minted as (
    select
        keyless.cluster_id,
        case
            when exists (select 1 from key_ages where key_ages.person_key = md5('person:' || keyless.cluster_id))
                or exists (select 1 from kept where kept.person_key = md5('person:' || keyless.cluster_id))
                then md5('person:' || keyless.cluster_id || ':' || ({{ as_of_date() }})::text)
            else md5('person:' || keyless.cluster_id)
        end as person_key
    from keyless
),

assigned as (
    select
        members.*,
        coalesce(kept.person_key, minted.person_key) as person_key,
        kept.person_key is null as key_minted
    from members
    left join kept on kept.cluster_id = members.cluster_id
    left join minted on minted.cluster_id = members.cluster_id
),

held_tonight as (
    select distinct person_key from assigned
),

changes as (
    select
        {{ as_of_date() }} as assigned_on,
        assigned.record_uid,
        assigned.source_system,
        assigned.source_record_id,
        assigned.person_key,
        assigned.previous_key as previous_person_key,
        assigned.cluster_id,
        case
            when assigned.previous_key is null and assigned.key_minted then 'new_child'
            when assigned.previous_key is null then 'joined_known_child'
            when assigned.key_minted then 'split'
            when not exists (select 1 from held_tonight where held_tonight.person_key = assigned.previous_key)
                then 'merged'
            else 'moved'
        end as change_type,
        '{{ var("run_id", "adhoc") }}'::text as run_id
    from assigned
    where assigned.previous_key is distinct from assigned.person_key
)

select * from changes
