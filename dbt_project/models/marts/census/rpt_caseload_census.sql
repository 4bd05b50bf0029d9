{#-
    The caseload on as_of_date: one row per DfE setting category × primary need, counting the EHC
    plans maintained on that date. The setting is where the child is educated on the night: the
    education placement that counts (int_statutory__current_setting); for a child the education
    system does not know at all, the setting named in the plan (casework); otherwise
    `placement_not_recorded`. Only combinations with at least one plan have a row; shares are of
    all plans maintained on the night.
-#}

with

active_plans as (
    select * from {{ ref('int_statutory__plan_windows') }}
    where is_active
),

current_setting as (
    select * from {{ ref('int_statutory__current_setting') }}
),

establishments as (
    select * from {{ ref_or_empty('stg_education__establishments', {
        'urn': 'bigint', 'establishment_type': 'text', 'phase': 'text'}) }}
),

placed as (
    select
        active_plans.plan_key,
        active_plans.person_key,
        coalesce(active_plans.primary_need, 'UNKNOWN') as primary_need,
        case
            when current_setting.person_key is not null then current_setting.setting_category
            when not active_plans.has_education_record
                 and (active_plans.named_urn is not null or active_plans.named_setting_code is not null)
                then {{ setting_category('establishments.establishment_type', 'establishments.phase',
                                         'active_plans.named_setting_code', 'active_plans.named_urn') }}
            else 'placement_not_recorded'
        end as setting_category,
        case
            when current_setting.person_key is not null then 'education'
            when not active_plans.has_education_record
                 and (active_plans.named_urn is not null or active_plans.named_setting_code is not null)
                then 'casework'
            else 'none'
        end as setting_source,
        {{ is_compulsory_school_age('active_plans.date_of_birth', as_of_date()) }} as is_compulsory_school_age
    from active_plans
    left join current_setting on current_setting.person_key = active_plans.person_key
    left join establishments on establishments.urn = active_plans.named_urn
),

counts as (
    select
        setting_category,
        primary_need,
        count(*) as active_plans,
        count(*) filter (where is_compulsory_school_age) as compulsory_school_age_plans,
        count(*) filter (where setting_source = 'casework') as setting_from_casework
    from placed
    group by setting_category, primary_need
)

select
    {{ as_of_date() }} as as_of_date,
    setting_category::text as setting_category,
    primary_need::text as primary_need,
    active_plans::integer as active_plans,
    round(100.0 * active_plans / nullif(sum(active_plans) over (), 0), 1)::numeric(4, 1) as pct_of_active_plans,
    compulsory_school_age_plans::integer as compulsory_school_age_plans,
    setting_from_casework::integer as setting_from_casework
from counts
