{#
    Schemas are a contract (docs/architecture.md §3): staging, facts, marts, ml_models, exactly,
    in dev and prod alike. dbt's default would prefix them with the target schema
    ("staging_facts"); this keeps the configured name as is.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
