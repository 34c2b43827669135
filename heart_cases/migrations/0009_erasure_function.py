"""The retention sweep's one way to change the history (issue 16).

The history tables are append-only for the runtime role (`manage.py db_runtime_role`). The
sweep must still blank the identifying fields in a de-identified neighbor's earlier versions:
this function does exactly that, with its owner's rights, for records already marked erased
(heart_cases.Neighbor.erased_at), and nothing else. The columns are those of
heart_cases.retention.ERASED: change both together, in a new migration.
"""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION heart_erase_history(neighbor_ids bigint[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    erased bigint[];
    cases bigint[];
    responses bigint[];
BEGIN
    SELECT coalesce(array_agg(id), '{}') INTO erased FROM heart_cases_neighbor
        WHERE id = ANY(neighbor_ids) AND erased_at IS NOT NULL;
    SELECT coalesce(array_agg(id), '{}') INTO cases FROM heart_cases_case
        WHERE neighbor_id = ANY(erased);
    SELECT coalesce(array_agg(id), '{}') INTO responses FROM heart_cases_fieldresponse
        WHERE neighbor_id = ANY(erased);
    UPDATE heart_cases_historicalneighbor SET first_name = '', last_name = '', alias = '',
        first_name_key = '', last_name_key = '', alias_key = '', date_of_birth = NULL,
        phone = '' WHERE id = ANY(erased);
    UPDATE heart_cases_historicalneighborphone SET number = '' WHERE neighbor_id = ANY(erased);
    UPDATE heart_cases_historicalcontact SET name = '', phone = '', note = ''
        WHERE neighbor_id = ANY(erased);
    UPDATE heart_cases_historicalfieldresponse SET address = '', latitude = NULL,
        longitude = NULL, narrative = '' WHERE neighbor_id = ANY(erased);
    UPDATE heart_cases_historicalcase SET outcome_note = '' WHERE neighbor_id = ANY(erased);
    UPDATE heart_cases_historicalcasenote SET text = '' WHERE case_id = ANY(cases);
    UPDATE heart_cases_historicaldebrief SET note = '' WHERE field_response_id = ANY(responses);
    UPDATE navigation_historicalcontactattempt SET notes = '' WHERE case_id = ANY(cases);
    UPDATE referrals_historicalreferral SET reason = '', status_note = ''
        WHERE case_id = ANY(cases);
    UPDATE referrals_historicalconsent SET withdrawal_note = '' WHERE neighbor_id = ANY(erased);
END
$$;
REVOKE ALL ON FUNCTION heart_erase_history(bigint[]) FROM PUBLIC;
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTION)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS heart_erase_history(bigint[])")


class Migration(migrations.Migration):
    dependencies = [
        ("heart_cases", "0008_notes_and_sources"),
        ("navigation", "0010_database_defaults"),
        ("referrals", "0006_database_defaults"),
    ]

    operations = [migrations.RunPython(create, drop)]
