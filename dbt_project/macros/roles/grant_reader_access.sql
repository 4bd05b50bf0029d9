{#-
    on-run-end hook (dbt_project.yml): after every build, give the reader roles SELECT on every
    table of the schemas they may read, so grants survive dbt replacing tables even when dbt runs
    as a different role than the one whose default privileges send_warehouse.warehouse.roles set.
      bi_reader     marts
      records_team  marts, restricted
    A role or schema that does not exist yet is skipped (the roles are created by the pipeline's
    start stage, ensure_roles), so a build on a warehouse without them still succeeds.
-#}
{% macro grant_reader_access() -%}
    {%- set grants = {'bi_reader': ['marts'], 'records_team': ['marts', 'restricted']} -%}
    do $grant_reader_access$
    begin
    {%- for role, schemas in grants.items() %}
    {%- for schema in schemas %}
        if exists (select 1 from pg_roles where rolname = '{{ role }}')
           and exists (select 1 from pg_namespace where nspname = '{{ schema }}') then
            execute 'grant usage on schema {{ schema }} to {{ role }}';
            execute 'grant select on all tables in schema {{ schema }} to {{ role }}';
        end if;
    {%- endfor %}
    {%- endfor %}
    end
    $grant_reader_access$;
{%- endmacro %}
