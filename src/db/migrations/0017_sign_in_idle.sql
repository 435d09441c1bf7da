-- A failed-attempt counter left alone longer than the lockout window starts again from zero
-- (src/auth/signin.ts, src/auth/unknown.ts): the time of the last attempt, for real accounts and
-- unknown emails alike, so "4 wrong, wait, 1 wrong" answers the same for both. It also tells which
-- sign_in_unknown rows are over (idle past the window, no lock running): those are deleted a few at a
-- time on the sign-in path, so the table holds only the emails tried within about one window.
alter table merchant_users add column last_attempt_at timestamptz;
alter table regulators add column last_attempt_at timestamptz;
-- A count already running carries on from now, as an unknown email's does (the default below).
update merchant_users set last_attempt_at = now() where failed_attempts > 0;
update regulators set last_attempt_at = now() where failed_attempts > 0;
-- Rows from before this migration count as tried now: they are pruned one window from now.
alter table sign_in_unknown add column last_attempt_at timestamptz not null default now();
create index sign_in_unknown_idle on sign_in_unknown (area, last_attempt_at);
