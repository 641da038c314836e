//! Latency of one complaint in process (target: p99 < 1 ms). `cargo bench -p triage`.

use criterion::{Criterion, criterion_group, criterion_main};

const COMPLAINTS: [&str; 6] = [
    "宝宝发烧两天了39度还拉肚子",
    "胸口闷痛出冷汗半小时",
    "最近老是失眠，心情不好，压力很大，不想上班",
    "我不发烧，但是咳嗽有痰一个多星期了，晚上咳得睡不着",
    "怀孕8周，今天下面有点出血，肚子隐隐作痛",
    "右下腹疼了一天，恶心，没有胃口，走路的时候更疼",
];

fn bench(c: &mut Criterion) {
    let _ = triage::warm_up();
    c.bench_function("triage one complaint", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % COMPLAINTS.len();
            triage::triage(&triage::Input::text(COMPLAINTS[i]))
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
