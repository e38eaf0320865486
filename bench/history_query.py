#!/usr/bin/env python3
"""The console's history in SQLite: what a federation chart and one interval's write cost.

Creates the coordinator's site_samples table from the store's own migration 10
(coordinator/store/coordinator_store.cpp), fills it with generated samples, and times
the store's own federation query (coordinator/store/history_rows.cpp) over 24 hours and
over the whole span, one site's 24 hours, and one interval's write (every site's sample
plus the prune) in one transaction. docs/benchmarks.md, "Console history".

  python3 bench/history_query.py --sites 7 --days 14
  python3 bench/history_query.py --sites 1000 --days 1
"""
import argparse
import os
import pathlib
import sqlite3
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent


def between(text, start, end):
    i = text.index(start)
    return text[i:text.index(end, i) + len(end)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--sites', type=int, default=7)
    ap.add_argument('--days', type=int, default=14)
    ap.add_argument('--interval-s', type=int, default=60)
    a = ap.parse_args()
    store = (ROOT / 'coordinator/store/coordinator_store.cpp').read_text()
    ddl = between(store, 'CREATE TABLE site_samples', 'site_samples(t);')
    rows_cpp = (ROOT / 'coordinator/store/history_rows.cpp').read_text()
    fed_sql = between(rows_cpp, 'SELECT t, COUNT(*)', 'GROUP BY t ORDER BY t')
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, 'history.db')
        db = sqlite3.connect(path)
        db.execute('PRAGMA journal_mode=WAL')
        db.execute('PRAGMA synchronous=FULL')
        db.executescript(ddl)
        n = a.days * 86400 // a.interval_s
        step = a.interval_s * 1000
        t0 = 1_800_000_000_000
        gen = ((f's{s}', t0 + i * step, 'up', 64, 32, 32, 16, 8, 3, 1.5, 2, 0)
               for i in range(n) for s in range(a.sites))
        db.executemany('INSERT INTO site_samples VALUES (?,?,?,?,?,?,?,?,?,?,?,?)', gen)
        db.commit()
        end = t0 + (n - 1) * step
        print(f'{a.sites} sites x {a.days} d at {a.interval_s} s: {a.sites * n} rows, '
              f'{os.path.getsize(path) / 1e6:.0f} MB')
        for label, since in (('24 h', end - 86_400_000), (f'{a.days} d', t0)):
            s = time.perf_counter()
            points = db.execute(fed_sql, (since, end)).fetchall()
            print(f'  federation {label}: {len(points)} points in {time.perf_counter() - s:.3f} s')
        s = time.perf_counter()
        points = db.execute('SELECT * FROM site_samples WHERE site = ? AND t BETWEEN ? AND ? '
                            'ORDER BY t', ('s0', end - 86_400_000, end)).fetchall()
        print(f'  one site 24 h: {len(points)} points in {time.perf_counter() - s:.3f} s')
        s = time.perf_counter()
        db.executemany('INSERT OR REPLACE INTO site_samples VALUES (?,?,?,?,?,?,?,?,?,?,?,?)',
                       [(f's{x}', end + step, 'up', 64, 32, 32, 16, 8, 3, 1.5, 2, 0)
                        for x in range(a.sites)])
        db.execute('DELETE FROM site_samples WHERE t < ?', (t0 + step,))
        db.commit()
        print(f'  one interval write ({a.sites} samples + prune, fsync): '
              f'{time.perf_counter() - s:.3f} s')
        db.close()


if __name__ == '__main__':
    main()
