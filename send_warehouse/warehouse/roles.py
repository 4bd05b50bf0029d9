"""Database roles for the warehouse's readers (shared/marts-contract.md, "Roles").

* `bi_reader`: USAGE and SELECT on the schema `marts` only (BI dashboards).
* `records_team`: `marts` plus `restricted` (identifiable details, for the SEND records team).
* The pipeline's own role (the one that runs `ensure_roles` and dbt) owns everything else; nobody
  else can read the raw landing schemas, `audit`, `staging`, `intermediate` or `restricted`.

`ensure_roles(conn)` is idempotent and cheap: the pipeline calls it at the start of every night.
It creates the roles if they are missing, NOLOGIN (a council gives them passwords and LOGIN, or
grants them to its own login roles, itself), revokes everything from PUBLIC on the private
schemas, and grants the readers their schemas, including tables created later: dbt replaces a
table on every build, so SELECT on the tables that exist now is not enough. Two mechanisms keep
the grants across rebuilds:

1. default privileges (`ALTER DEFAULT PRIVILEGES ... IN SCHEMA marts GRANT SELECT ON TABLES`) for
   the role running this function, which is the role dbt builds as; and
2. the dbt project's `on-run-end` hook `grant_reader_access()` (dbt_project/macros/roles), which
   grants SELECT on every table of `marts` (and `restricted`) after each build, in case dbt runs as
   another role than the one that set the default privileges.

Creating a role needs CREATEROLE (or superuser); when the pipeline's role lacks it and the roles
are missing, `ensure_roles` raises RolesError naming the statements a DBA must run once.
`create_pipeline_owner` is that one-off set-up: the least-privileged login the pipeline runs as
(owner of the database, nothing more) and the two reader roles.

The publication (send_warehouse.publish) renames schemas: `grant_readers` runs inside its
transaction, so tonight's `marts` has its grants the moment it appears, and the shadow
(`marts__next`) and the previous night (`marts__previous`) are closed to the readers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg
from psycopg import sql

from send_warehouse.landing.tables import SOURCE_SYSTEMS

# The role the pipeline logs in as: owns the database and every schema in it (create_pipeline_owner).
PIPELINE_OWNER = "send_pipeline"
BI_READER = "bi_reader"
RECORDS_TEAM = "records_team"

# Which schemas each reader role may read (USAGE on the schema, SELECT on all its tables, now and later).
READABLE: dict[str, tuple[str, ...]] = {
    BI_READER: ("marts",),
    RECORDS_TEAM: ("marts", "restricted"),
}
# Schemas the readers' grants apply to; created here if missing so that default privileges are in
# place before dbt creates the first table in them.
READER_SCHEMAS = ("marts", "restricted")
# Schemas nobody but the pipeline reads: PUBLIC and the reader roles are refused on them.
PRIVATE_SCHEMAS = (
    *(f"raw_{system}" for system in SOURCE_SYSTEMS),
    "audit",
    "staging",
    "intermediate",
    "restricted",
    "seeds",
    "snapshots",
    # The publication's shadow (tonight's build, not yet published) and the night it replaced
    # (send_warehouse.publish): readers must never see either.
    *(f"{schema}{suffix}" for schema in ("marts", "restricted") for suffix in ("__next", "__previous")),
)
# Created here if missing (dbt would create them on its first build anyway), so that the PUBLIC
# revocations are in place before any table lands in them.
CREATED_SCHEMAS = ("staging", "intermediate", "marts", "restricted")


class RolesError(RuntimeError):
    """The reader roles are missing and the pipeline's role may not create them."""


@dataclass
class RolesReport:
    created: list[str] = field(default_factory=list)  # roles created by this call
    existing: list[str] = field(default_factory=list)  # roles that were already there
    private_schemas: list[str] = field(default_factory=list)  # schemas closed to PUBLIC and the readers

    def as_dict(self) -> dict[str, list[str]]:
        return {"created": self.created, "existing": self.existing, "private_schemas": self.private_schemas}


def _role_exists(conn: psycopg.Connection, role: str) -> bool:
    return conn.execute("select 1 from pg_roles where rolname = %s", (role,)).fetchone() is not None


def _schema_exists(conn: psycopg.Connection, schema: str) -> bool:
    return conn.execute("select 1 from pg_namespace where nspname = %s", (schema,)).fetchone() is not None


def _can_create_roles(conn: psycopg.Connection) -> bool:
    row = conn.execute("select rolsuper or rolcreaterole from pg_roles where rolname = current_user").fetchone()
    return bool(row and row[0])


def _create_role(conn: psycopg.Connection, role: str) -> bool:
    """CREATE ROLE ... NOLOGIN unless it exists. Roles are cluster-wide: a concurrent creator may win."""
    if _role_exists(conn, role):
        return False
    try:
        with conn.transaction():  # a savepoint: losing the race must not abort the caller's transaction
            conn.execute(sql.SQL("create role {} nologin").format(sql.Identifier(role)))
    except (psycopg.errors.DuplicateObject, psycopg.errors.UniqueViolation):
        return False
    return True


def grant_readers(conn: psycopg.Connection, roles: dict[str, tuple[str, ...]] | None = None,
                  report: RolesReport | None = None) -> RolesReport:
    """(Re)apply the readers' grants and close the private schemas, in the caller's transaction.

    Used by `ensure_roles` at the start of a night and by `send_warehouse.publish` inside the
    transaction that swaps tonight's marts in, so no reader ever sees a schema without its grants
    (or a private one with them). Does not commit; the roles must exist.
    """
    # A reader role that does not exist (yet) has nothing to be granted or refused.
    roles = {r: s for r, s in (READABLE if roles is None else roles).items() if _role_exists(conn, r)}
    report = report if report is not None else RolesReport()
    for schema in CREATED_SCHEMAS:
        conn.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))

    for schema in PRIVATE_SCHEMAS:
        if not _schema_exists(conn, schema):
            continue
        s = sql.Identifier(schema)
        # Nobody but the owner: PUBLIC, and each reader not explicitly entitled to the schema.
        refused = [sql.SQL("public")] + [sql.Identifier(r) for r, allowed in roles.items() if schema not in allowed]
        who = sql.SQL(", ").join(refused)
        conn.execute(sql.SQL("revoke all on schema {} from {}").format(s, who))
        for kind in ("tables", "sequences", "functions"):
            conn.execute(sql.SQL("revoke all on all {} in schema {} from {}").format(sql.SQL(kind), s, who))
            conn.execute(sql.SQL("alter default privileges in schema {} revoke all on {} from {}").format(
                s, sql.SQL(kind), who))
        report.private_schemas.append(schema)

    for schema in READER_SCHEMAS:
        entitled = [sql.Identifier(r) for r, allowed in roles.items() if schema in allowed]
        if not entitled:
            continue
        s = sql.Identifier(schema)
        who = sql.SQL(", ").join(entitled)
        if schema not in PRIVATE_SCHEMAS:
            conn.execute(sql.SQL("revoke all on schema {} from public").format(s))
        conn.execute(sql.SQL("grant usage on schema {} to {}").format(s, who))
        conn.execute(sql.SQL("grant select on all tables in schema {} to {}").format(s, who))
        conn.execute(sql.SQL("alter default privileges in schema {} grant select on tables to {}").format(s, who))
    return report


def ensure_roles(conn: psycopg.Connection, roles: dict[str, tuple[str, ...]] | None = None) -> RolesReport:
    """Create the reader roles if missing and (re)apply their grants. Safe to call every night.

    Runs in one transaction on `conn` (committed here). Returns what it did.
    """
    roles = dict(READABLE if roles is None else roles)
    report = RolesReport()
    missing = [role for role in roles if not _role_exists(conn, role)]
    if missing and not _can_create_roles(conn):
        statements = "; ".join(f"CREATE ROLE {role} NOLOGIN" for role in missing)
        conn.rollback()
        raise RolesError(
            f"roles {', '.join(missing)} do not exist and the pipeline's database role may not create them. "
            f"Ask a DBA to run once: {statements}; then rerun the night."
        )
    with conn.transaction():
        # Roles are cluster-wide, grants per database: serialise concurrent first runs on this database.
        conn.execute("select pg_advisory_xact_lock(hashtext('send_warehouse.ensure_roles'))")
        for role in roles:
            (report.created if _create_role(conn, role) else report.existing).append(role)
        database = conn.execute("select current_database()").fetchone()[0]
        for role in roles:
            conn.execute(sql.SQL("grant connect on database {} to {}").format(
                sql.Identifier(database), sql.Identifier(role)))
        grant_readers(conn, roles, report)
    conn.commit()
    return report


def create_pipeline_owner(admin: psycopg.Connection, database: str, password: str | None = None,
                          role: str = PIPELINE_OWNER) -> None:
    """Once per warehouse, as a DBA: the least-privileged role the pipeline runs as, and its readers.

    The owner may log in and owns `database` (so it may create its schemas and the trusted
    extensions it needs) and nothing else: not a superuser, may not create databases or roles,
    no replication, no row-level-security bypass. The reader roles are created here too (NOLOGIN),
    so the pipeline never needs CREATEROLE. `admin` must be a superuser or hold CREATEROLE and
    own the database. The password travels only as a parameter of this call and ends up hashed in
    the server; give the pipeline the resulting URL through WAREHOUSE_URL (or an Airflow
    connection), never a file. Idempotent; commits.
    """
    r = sql.Identifier(role)
    with admin.transaction():
        if not _role_exists(admin, role):
            admin.execute(sql.SQL("create role {} login").format(r))
        admin.execute(sql.SQL("alter role {} login nosuperuser nocreatedb nocreaterole noreplication nobypassrls"
                              " inherit").format(r))
        if password is not None:
            # ALTER ROLE ... PASSWORD takes no bind parameter: quote it as a literal.
            admin.execute(sql.SQL("alter role {} password {}").format(r, sql.Literal(password)))
        for reader in READABLE:
            if not _role_exists(admin, reader):
                admin.execute(sql.SQL("create role {} nologin").format(sql.Identifier(reader)))
        admin.execute(sql.SQL("alter database {} owner to {}").format(sql.Identifier(database), r))
        admin.execute(sql.SQL("revoke all on database {} from public").format(sql.Identifier(database)))
        admin.execute(sql.SQL("grant connect, temporary on database {} to {}").format(sql.Identifier(database), r))
    admin.commit()


__all__ = ["BI_READER", "PIPELINE_OWNER", "PRIVATE_SCHEMAS", "READABLE", "RECORDS_TEAM", "RolesError", "RolesReport",
           "create_pipeline_owner", "ensure_roles", "grant_readers"]
