#!/usr/bin/env python3
"""A plain dict-based planner, as an admin's script would be written: the yardstick the plan
bench compares `mailshift plan` with (MAILSHIFT_BENCH_SCRIPT=1). It is not part of mailshift.

It reads the accounts export (the "Export users" layout) and a target list (account_id,
current_email, target_email), and writes a plan of the same kind: rows matched by ID or by
current address, invalid, unverified, non-ASCII and duplicate targets blocked, conflicting rows
blocked, holders that no row moves freed first (local_FREE@domain), holders that stay blocking
who wants their address (in cascade), chains written from their far end, cycles broken with one
temporary address (local_MOVING@domain), one step per line, with the SHA-256 of the content.
Every lookup is a dict or a set; nothing is clever.

usage: plan_dict.py ACCOUNTS TARGETS OUT [--verified-domains a.example,b.example]
Prints one JSON line of counts; exits 2 when rows are blocked, as `mailshift plan` does.
"""

import csv
import hashlib
import json
import re
import sys

ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def main(argv):
    accounts_path, targets_path, out_path = argv[1:4]
    verified = None
    if len(argv) > 5 and argv[4] == "--verified-domains":
        verified = {d.strip().lower() for d in argv[5].split(",")}

    accounts = {}  # id -> {"email", "name", "status"}
    by_email = {}  # address, lower case -> id
    with open(accounts_path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            aid = row["User id"]
            accounts[aid] = {
                "email": row["email"],
                "name": row["User name"],
                "status": row["User status"],
            }
            by_email[row["email"].lower()] = aid

    blocked = []
    no_account = []
    wish = {}  # id -> (target, line)
    rows_of = {}  # id -> [(target, line)], every row naming it
    conflicting = set()
    with open(targets_path, newline="", encoding="utf-8") as f:
        for line, row in enumerate(csv.DictReader(f), start=2):
            aid = (row.get("account_id") or "").strip()
            current = (row.get("current_email") or "").strip()
            target = (row.get("target_email") or "").strip()
            by_current = by_email.get(current.lower()) if current else None
            if aid and current and by_current != aid:
                blocked.append({"line": line, "target": target, "reason": "ambiguous_account"})
                continue
            if not aid and not current:
                blocked.append({"line": line, "target": target, "reason": "no_account_named"})
                continue
            aid = aid or by_current
            if not aid or aid not in accounts:
                no_account.append({"line": line, "target": target})
                continue
            if not ADDRESS.match(target):
                blocked.append({"line": line, "account_id": aid, "target": target,
                                "reason": "invalid_address"})
                continue
            local, domain = target.rsplit("@", 1)
            if not local.isascii():
                blocked.append({"line": line, "account_id": aid, "target": target,
                                "reason": "non_ascii_local_part"})
                continue
            if verified is not None and domain.lower() not in verified:
                blocked.append({"line": line, "account_id": aid, "target": target,
                                "reason": "unverified_domain"})
                continue
            if aid in wish and wish[aid][0].lower() != target.lower():
                conflicting.add(aid)
            wish.setdefault(aid, (target, line))
            rows_of.setdefault(aid, []).append((target, line))
    for aid in conflicting:
        del wish[aid]
        for target, line in rows_of[aid]:
            blocked.append({"line": line, "account_id": aid, "target": target,
                            "reason": "conflicting_rows"})

    # Who wants each address; an address wanted twice is given to nobody.
    wanted_by = {}
    for aid, (target, _) in wish.items():
        wanted_by.setdefault(target.lower(), []).append(aid)
    movers = {}
    for key, aids in wanted_by.items():
        if len(aids) > 1:
            for aid in aids:
                target, line = wish[aid]
                blocked.append({"line": line, "account_id": aid, "target": target,
                                "reason": "duplicate_target"})
        else:
            aid = aids[0]
            if accounts[aid]["email"].lower() != key:
                movers[aid] = wish[aid]

    # Holders: a holder no row moves is freed, unless a row names it (it stays, blocked).
    named = set(wish) | conflicting
    stays = set(conflicting) | {b["account_id"] for b in blocked if "account_id" in b}
    changed = True
    while changed:
        changed = False
        for aid in list(movers):
            holder = by_email.get(movers[aid][0].lower())
            if holder is not None and holder != aid and holder not in movers and (
                holder in stays or holder in named
            ):
                target, line = movers.pop(aid)
                blocked.append({"line": line, "account_id": aid, "target": target,
                                "reason": "holder_stays"})
                stays.add(aid)
                changed = True

    steps = []
    freed = {}

    def step(kind, aid, frm, to, after, group):
        steps.append({"id": len(steps) + 1, "group": group, "kind": kind, "account_id": aid,
                      "name": accounts[aid]["name"], "from": frm, "to": to, "after": after})
        return len(steps)

    prev = {}  # the mover holding the address each mover wants -> that mover
    for aid, (target, _) in movers.items():
        holder = by_email.get(target.lower())
        if holder in movers:
            prev[holder] = aid
    visited = set()
    group = 0
    for start in movers:
        if start in visited:
            continue
        head, cycle = start, False
        while head in prev:
            head = prev[head]
            if head == start:
                cycle = True
                break
        members = [head]
        tail = head
        while True:
            holder = by_email.get(movers[tail][0].lower())
            if holder not in movers or holder == head:
                break
            members.append(holder)
            tail = holder
        visited.update(members)
        group += 1
        if cycle:
            local, domain = accounts[head]["email"].rsplit("@", 1)
            temp = f"{local}_MOVING@{domain}"
            park = step("temporary", head, accounts[head]["email"], temp, [], group)
            last = park
            for m in reversed(members[1:]):
                last = step("rename", m, accounts[m]["email"], movers[m][0], [last], group)
            step("rename", head, temp, movers[head][0], [park, last], group)
        else:
            after = []
            holder = by_email.get(movers[tail][0].lower())
            if holder is not None and holder not in movers and holder != tail:
                local, domain = accounts[holder]["email"].rsplit("@", 1)
                free = f"{local}_FREE@{domain}"
                after = [step("free", holder, accounts[holder]["email"], free, [], group)]
                freed[holder] = free
            for m in reversed(members):
                after = [step("rename", m, accounts[m]["email"], movers[m][0], after, group)]

    blocked.sort(key=lambda b: b["line"])
    content = ["{\"steps\":["]
    content.append(",\n".join(json.dumps(s, ensure_ascii=False) for s in steps))
    content.append("],\n\"blocked\":")
    content.append(json.dumps(blocked, ensure_ascii=False))
    content.append(",\n\"no_account\":")
    content.append(json.dumps(no_account, ensure_ascii=False))
    content.append("}")
    body = "".join(content).encode("utf-8")
    sha = hashlib.sha256(body).hexdigest()
    with open(out_path, "wb") as f:
        f.write(b"{\"plan\":" + body + b",\n\"content_sha256\":\"" + sha.encode() + b"\"}\n")
    kinds = {}
    for s in steps:
        kinds[s["kind"]] = kinds.get(s["kind"], 0) + 1
    print(json.dumps({"writes": len(steps), "kinds": kinds, "blocked": len(blocked),
                      "no_account": len(no_account)}))
    return 2 if blocked else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
