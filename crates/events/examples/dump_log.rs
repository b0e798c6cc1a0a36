//! Prints one partition of a Kafka event log, an event a line: position, event id, time and
//! writes. For looking into a log by hand:
//! `cargo run -p events --example dump_log -- <brokers> <topic> <partition>`.
use events::EventLog;
use events::{KafkaConfig, KafkaLog};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let brokers = args.next().ok_or("brokers")?;
    let topic = args.next().ok_or("topic")?;
    let partition: u32 = args.next().ok_or("partition")?.parse()?;
    let log = KafkaLog::connect(KafkaConfig {
        brokers,
        topic,
        partitions: 1,
        replication: 1,
        options: vec![],
        handoff: false,
    })
    .await?;
    let mut reader = log.reader(partition).await?;
    let end = reader.end().await?;
    let mut from = 1;
    while from <= end {
        for e in reader.next_batch(from, 1000).await? {
            let writes: Vec<String> = e
                .event
                .writes()
                .iter()
                .map(|w| {
                    format!(
                        "{:?} {}/{} {}",
                        w.kind,
                        w.class,
                        w.object_id,
                        serde_json::Value::Object(w.ops.clone())
                    )
                })
                .collect();
            println!("{} {} {} {:?}", e.position, e.event.id, e.event.at, writes);
            from = e.position + 1;
        }
    }
    Ok(())
}
