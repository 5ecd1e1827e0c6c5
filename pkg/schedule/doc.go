// Package schedule holds schedule rules (robfig/cron specs with CRON_TZ and
// holidays) and computes the desired state of servers at a given time.
//
// It must not touch the network or print; it only does time arithmetic.
package schedule
