{#
    The combination of `combination_of_columns` is unique (a compound key), without dbt_utils:
    there is no package hub where this project runs.
#}
{% test unique_combination_of_columns(model, combination_of_columns) %}

select
    {{ combination_of_columns | join(', ') }},
    count(*) as n_rows
from {{ model }}
group by {{ combination_of_columns | join(', ') }}
having count(*) > 1

{% endtest %}
