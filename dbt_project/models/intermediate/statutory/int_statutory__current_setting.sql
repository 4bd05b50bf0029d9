{#-
    Where each child is educated on as_of_date: one row per child with a placement covering the
    night, the placement that counts (education before part-time before no education, then the
    main registration before a dual one, then the latest start), with its DfE setting category.
-#}

with

establishments as (
    select * from {{ ref_or_empty('stg_education__establishments', {
        'urn': 'bigint', 'establishment_type': 'text', 'phase': 'text'}) }}
),

covering as (
    select *
    from {{ ref('int_statutory__education_cover') }}
    where cover_start <= {{ as_of_date() }} and cover_end >= {{ as_of_date() }}
),

chosen as (
    select distinct on (person_key) *
    from covering
    order by person_key, cover_rank desc, is_dual_registration, placement_start_date desc, placement_id
)

select
    chosen.person_key,
    chosen.placement_id,
    chosen.urn,
    chosen.setting_code,
    chosen.hours_per_week,
    chosen.is_dual_registration,
    chosen.placement_start_date,
    chosen.cover_rank,
    establishments.establishment_type,
    establishments.phase as establishment_phase,
    {{ setting_category('establishments.establishment_type', 'establishments.phase', 'chosen.setting_code',
                        'chosen.urn') }} as setting_category
from chosen
left join establishments on establishments.urn = chosen.urn
