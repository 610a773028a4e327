/* schedule: when each report of a farm is refreshed next (pure arithmetic on a clock given by the caller) */
#include "deadline/schedule.h"

#include <math.h>

struct schedule_slot *schedule_next(struct schedule_slot *slots, size_t n, double now, double *wait_s)
{
	struct schedule_slot *next = NULL;

	for (size_t i = 0; i < n; i++)
		if (!next || slots[i].next_due < next->next_due)
			next = &slots[i];
	if (!next) {
		*wait_s = -1;
		return NULL;
	}
	*wait_s = next->next_due - now;
	if (*wait_s > 0)
		return NULL;
	*wait_s = 0;
	return next;
}

double schedule_record(struct schedule_slot *s, bool ok, bool persistent, double began, double now, double random_unit)
{
	double interval = (double)(s->rc ? s->rc->interval_seconds : s->interval_seconds);

	if (ok) {
		s->failures = 0;
		s->next_due = began + interval;
		if (s->next_due < now)
			s->next_due = now;
		return s->next_due - now;
	}
	s->failures++;
	double delay = SCHEDULE_RETRY_FIRST_S * ldexp(1.0, s->failures > 64 ? 63 : (int)s->failures - 1);
	if (delay > interval || persistent)
		delay = interval;
	delay *= 0.75 + random_unit / 2;
	s->next_due = now + delay;
	return delay;
}
