#!/usr/bin/env python3
"""The rules benchmark's baseline: the same 20 lifecycle and formula rules as SQL in DuckDB.

Run by `steward bench --suite rules` (crates/steward/src/bench/rules.rs), which writes the
data the engine got to CSV files in DIR and reads the last line this prints (JSON):

    bench-duckdb.py DIR NOW_ISO

Loading the CSV files into tables is timed separately (`load_s`); `rules_s` is the rule
computation alone, every result materialised with CREATE TABLE ... AS SELECT. `checks` are
figures the benchmark compares with the engine's.
"""

import json
import sys
import time

import duckdb


def main() -> None:
    directory, now_iso = sys.argv[1], sys.argv[2]
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    now = con.execute("SELECT CAST(? AS TIMESTAMPTZ)::TIMESTAMP", [now_iso]).fetchone()[0]
    lit = f"TIMESTAMP '{now.isoformat(sep=' ')}'"

    t = time.perf_counter()
    con.execute(
        f"""CREATE TABLE orgs AS SELECT * FROM read_csv('{directory}/orgs.csv', header = true,
            columns = {{'id': 'UUID', 'canceled': 'BOOLEAN', 'test': 'BOOLEAN'}})"""
    )
    con.execute(
        f"""CREATE TABLE accounts AS SELECT id, org_id, amount, plan, isTrial, canceled,
                CAST(trialEnds AS TIMESTAMPTZ)::TIMESTAMP AS trialEnds,
                CAST(renewsOn AS TIMESTAMPTZ)::TIMESTAMP AS renewsOn
            FROM read_csv('{directory}/accounts.csv', header = true,
            columns = {{'id': 'UUID', 'org_id': 'UUID', 'amount': 'DOUBLE', 'plan': 'VARCHAR',
                        'isTrial': 'BOOLEAN', 'canceled': 'BOOLEAN', 'trialEnds': 'VARCHAR',
                        'renewsOn': 'VARCHAR'}})"""
    )
    con.execute(
        f"""CREATE TABLE users AS SELECT * FROM read_csv('{directory}/users.csv', header = true,
            columns = {{'id': 'UUID', 'account_id': 'UUID', 'seats': 'DOUBLE', 'role': 'VARCHAR',
                        'email': 'VARCHAR'}})"""
    )
    load_s = time.perf_counter() - t

    # The engine's semantics: a condition "matches" only when it is true (null is not), so
    # conditions are COALESCE(..., false); comparisons with null are null, as in SQL; the sum
    # of nothing is 0, avg of nothing null. Statuses: ignored > churned > trial > subscribed.
    rules = [
        # Users: seats2, isAdmin, and deactivation.
        f"""CREATE TABLE user_rules AS
            SELECT id, account_id, seats,
                   seats * 2 AS seats2,
                   role = 'admin' AS isAdmin,
                   CASE WHEN COALESCE(ends_with(email, '@us.example'), false) THEN {lit} END
                       AS deactivatedAt
            FROM users""",
        # Accounts: own formulas, rollups over users, own lifecycle status.
        f"""CREATE TABLE account_rules AS
            SELECT a.id, a.org_id,
                   a.amount * 12 AS arr,
                   upper(a.plan) AS planUpper,
                   ({lit} <= a.renewsOn AND a.renewsOn - INTERVAL 30 DAY <= {lit}) AS renewalSoon,
                   COALESCE(r.seatTotal, 0) AS seatTotal,
                   COALESCE(r.admins, 0) AS admins,
                   r.avgSeats,
                   a.amount * 12 > 5000 AS big,
                   a.amount AS mrr,
                   CASE
                       WHEN COALESCE(a.plan = 'test', false) THEN 'ignored'
                       WHEN COALESCE(a.canceled = true, false) THEN 'churned'
                       WHEN COALESCE(a.isTrial = true, false)
                            AND NOT COALESCE(a.trialEnds <= {lit}, false) THEN 'trial'
                       WHEN COALESCE(a.isTrial = true, false)
                            AND NOT (a.amount IS NOT NULL AND COALESCE(a.isTrial != true, false))
                           THEN 'churned'
                       ELSE 'subscribed'
                   END AS ownStatus
            FROM accounts a
            LEFT JOIN (
                SELECT account_id,
                       SUM(seats) AS seatTotal,
                       COUNT(*) FILTER (WHERE isAdmin) AS admins,
                       AVG(seats) AS avgSeats
                FROM user_rules GROUP BY account_id
            ) r ON r.account_id = a.id""",
        # Organizations: rollups over accounts, lifecycle status.
        """CREATE TABLE org_rules AS
            SELECT o.id,
                   COALESCE(x.totalArr, 0) AS totalArr,
                   COALESCE(x.churnedAccounts, 0) AS churnedAccounts,
                   CASE
                       WHEN COALESCE(o.test = true, false) THEN 'ignored'
                       WHEN COALESCE(o.canceled = true, false) THEN 'churned'
                       ELSE 'subscribed'
                   END AS status
            FROM orgs o
            LEFT JOIN (
                SELECT org_id,
                       SUM(arr) AS totalArr,
                       COUNT(*) FILTER (WHERE ownStatus = 'churned') AS churnedAccounts
                FROM account_rules WHERE org_id IS NOT NULL GROUP BY org_id
            ) x ON x.org_id = o.id""",
        # Accounts' effective status: the organization's ignore or churn carries down.
        """CREATE TABLE account_status AS
            SELECT a.id,
                   CASE
                       WHEN a.ownStatus = 'ignored' OR o.status = 'ignored' THEN 'ignored'
                       WHEN a.ownStatus = 'churned' OR o.status = 'churned' THEN 'churned'
                       ELSE a.ownStatus
                   END AS status
            FROM account_rules a LEFT JOIN org_rules o ON o.id = a.org_id""",
    ]
    t = time.perf_counter()
    for statement in rules:
        con.execute(statement)
    rules_s = time.perf_counter() - t
    # Again on one thread, as the engine's reprocess runs.
    con.execute("SET threads = 1")
    for table in ["account_status", "org_rules", "account_rules", "user_rules"]:
        con.execute(f"DROP TABLE {table}")
    t = time.perf_counter()
    for statement in rules:
        con.execute(statement)
    rules_s_1_thread = time.perf_counter() - t
    con.execute("RESET threads")

    def by_status(sql: str) -> dict:
        return {status: n for status, n in con.execute(sql).fetchall()}

    def one(sql: str):
        return con.execute(sql).fetchone()[0]

    checks = {
        "accounts_by_status": by_status(
            "SELECT status, COUNT(*) FROM account_status GROUP BY status"
        ),
        "accounts_by_own_status": by_status(
            "SELECT ownStatus, COUNT(*) FROM account_rules GROUP BY ownStatus"
        ),
        "orgs_by_status": by_status("SELECT status, COUNT(*) FROM org_rules GROUP BY status"),
        "sum_total_arr": one("SELECT SUM(totalArr) FROM org_rules"),
        "sum_churned_accounts": one("SELECT SUM(churnedAccounts) FROM org_rules"),
        "sum_arr": one("SELECT SUM(arr) FROM account_rules"),
        "sum_seat_total": one("SELECT SUM(seatTotal) FROM account_rules"),
        "sum_admins": one("SELECT SUM(admins) FROM account_rules"),
        "sum_avg_seats": one("SELECT SUM(avgSeats) FROM account_rules"),
        "count_renewal_soon": one("SELECT COUNT(*) FROM account_rules WHERE renewalSoon"),
        "count_big": one("SELECT COUNT(*) FROM account_rules WHERE big"),
        "count_plan_upper_pro": one("SELECT COUNT(*) FROM account_rules WHERE planUpper = 'PRO'"),
        "sum_seats2": one("SELECT SUM(seats2) FROM user_rules"),
        "count_admins": one("SELECT COUNT(*) FROM user_rules WHERE isAdmin"),
        "count_deactivated": one(
            "SELECT COUNT(*) FROM user_rules WHERE deactivatedAt IS NOT NULL"
        ),
    }
    checks = {k: (float(v) if not isinstance(v, dict) else v) for k, v in checks.items()}
    threads = one("SELECT current_setting('threads')")
    print(
        json.dumps(
            {
                "duckdb": {
                    "version": duckdb.__version__,
                    "threads": int(threads),
                    "load_s": load_s,
                    "rules_s": rules_s,
                    "rules_s_1_thread": rules_s_1_thread,
                    "checks": checks,
                }
            }
        )
    )


if __name__ == "__main__":
    main()
