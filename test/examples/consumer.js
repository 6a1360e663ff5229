#!/usr/bin/env node
// Consume an eventbus queue with node-postgres (pg): receive a batch, handle
// each message in a transaction that also records its event id and acks it,
// and wait for the queue's NOTIFY only when a receive found nothing and no
// notification came in meanwhile.
//
// Connects with the libpq environment (PGHOST, PGDATABASE, ...).
// EB_QUEUE names the queue; EB_MAX_MESSAGES and EB_RUN_SECONDS (0: no limit)
// bound the run; EB_WAIT_SECONDS is the longest wait for a notification.
'use strict';
const { Client } = require('pg');

const QUEUE = process.env.EB_QUEUE || 'orders';
const MAX_MESSAGES = Number(process.env.EB_MAX_MESSAGES || 0);
const RUN_SECONDS = Number(process.env.EB_RUN_SECONDS || 0);
const WAIT_SECONDS = Number(process.env.EB_WAIT_SECONDS || 10);
const BATCH = 10;        // messages per receive
const VISIBILITY = 30;   // seconds a received message stays hidden from other consumers

// One message, in one transaction: the work, the event id, the ack.
// Delivery is at least once: a message comes back when its visibility
// timeout passes before it is acked (say the consumer that had it died after
// its work), and one event can reach a queue twice.  The event id recorded
// with the work makes the second delivery a no-op.
async function handle(client, messageId, eventId, event) {
  await client.query('BEGIN');
  try {
    const first = (await client.query(
      'INSERT INTO app.processed_events (queue, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING',
      [QUEUE, eventId])).rowCount === 1;
    if (first) {
      // the work: here, a row of the application's own
      await client.query(
        'INSERT INTO app.order_log (queue, event_id, order_id, total) VALUES ($1, $2, $3, $4)',
        [QUEUE, eventId, event.detail.id, event.detail.total]);
    }
    await client.query('SELECT eventbus.ack($1, ARRAY[$2]::bigint[])', [QUEUE, messageId]);
    await client.query('COMMIT');
    return first;
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  }
}

async function main() {
  const deadline = RUN_SECONDS > 0 ? Date.now() + RUN_SECONDS * 1000 : null;
  let handled = 0;
  let processed = 0;
  // node-postgres emits 'notification' whenever one arrives, also while a
  // query runs: the flag keeps it for the next decision to wait.
  let notified = false;
  let wake = null;
  const client = new Client();
  client.on('notification', () => {
    notified = true;
    if (wake) wake();
  });
  await client.connect();
  await client.query(`LISTEN ${client.escapeIdentifier(`eventbus.${QUEUE}`)}`);
  while (!(MAX_MESSAGES && handled >= MAX_MESSAGES)) {
    if (deadline && Date.now() >= deadline) break;
    notified = false;  // a notification from now on means: receive again
    const { rows } = await client.query(
      'SELECT message_id, event_id, payload FROM eventbus.receive($1, $2, $3)',
      [QUEUE, BATCH, VISIBILITY]);
    for (const m of rows) {
      try {
        if (await handle(client, m.message_id, m.event_id, m.payload)) processed++;
        handled++;
      } catch (err) {
        // rolled back: the message comes back after VISIBILITY seconds, and
        // goes to the dead letters after the queue's max_receive_count receives
        console.error(`message ${m.message_id}: ${err.message}`);
      }
    }
    if (rows.length > 0 || notified) continue;  // more may be waiting: receive again before waiting
    // Nothing visible: wait for a notification, with a timeout (a message
    // whose visibility timeout passes sends none).
    let ms = WAIT_SECONDS * 1000;
    if (deadline) ms = Math.max(0, Math.min(ms, deadline - Date.now()));
    await new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wake = null;
        resolve();
      }
      wake = done;
    });
  }
  await client.end();
  console.log(`consumer.js: handled ${handled} messages, ${processed} processed, ` +
              `${handled - processed} already processed (skipped)`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
