"""The round's sample and result files of a registry, written by PostgreSQL's COPY (shared by
bench/mass_testing.py and bench/import_stall.py): ten people a tube, a site per 2,500 swabs,
one positive tube in 2,000, twenty labs."""

from __future__ import annotations

from pathlib import Path


def write(url: str, samples: Path, results: Path, population: int) -> None:
    import psycopg

    with psycopg.connect(url) as conn, conn.cursor() as cur:
        with (
            open(samples, "wb") as out,
            cur.copy(f"""
            COPY (SELECT 'T' || lpad((i / 10)::text, 9, '0'), document_number,
                         to_char(timestamp '2026-11-23 00:00:00' + make_interval(secs => floor(i * 86400.0 / {population})),
                                 'YYYY-MM-DD HH24:MI:SS'),
                         'S' || lpad((i / 2500)::text, 5, '0')
                  FROM (SELECT row_number() OVER (ORDER BY id) - 1 AS i, document_number FROM people_person) p)
            TO STDOUT WITH (FORMAT csv, HEADER false)""") as copy,
        ):
            out.write(b"tube_barcode,id_number,sampled_at,site_code\n")
            for chunk in copy:
                out.write(chunk)
        tubes = (population + 9) // 10
        with (
            open(results, "wb") as out,
            cur.copy(f"""
            COPY (SELECT 'T' || lpad(t::text, 9, '0'), CASE WHEN t % 2000 = 7 THEN 'positive' ELSE 'negative' END,
                         to_char(timestamp '2026-11-23 05:00:00' + make_interval(secs => floor(t * 86400.0 / {tubes})),
                                 'YYYY-MM-DD HH24:MI:SS'),
                         'L' || lpad((t % 20)::text, 2, '0'),
                         CASE WHEN t % 2000 = 7 THEN '28.50' ELSE '' END, CASE WHEN t % 2000 = 7 THEN '30.10' ELSE '' END
                  FROM generate_series(0, {tubes - 1}) t)
            TO STDOUT WITH (FORMAT csv)""") as copy,
        ):
            out.write(b"tube_barcode,result,reported_at,lab_code,ct_orf1ab,ct_n\n")
            for chunk in copy:
                out.write(chunk)
