//! Generated bodies per second through the codec round trip: generate a case (the fuzzer's
//! generator, through proptest's runner as the campaign drives it), encode its `MessageBody`,
//! decode it again and type its `ext` back as the SDK does. With the allocator the `imspec`
//! binary uses. `cargo bench --bench fuzz_codec`; the figure is in the README.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use imspec::fuzz::{Mode, case::Case, strategy};
use imspec::wire::keyvalue;
use imspec::wire::pb::MessageBody;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use prost::Message as _;
use std::hint::black_box;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn round_trip(c: &mut Criterion) {
    let strategy = strategy::case(Mode::Valid, imspec::server::DEFAULT_MESSAGE_LIMIT_BYTES);
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[1; 32]),
    );
    let mut group = c.benchmark_group("fuzz");
    group.throughput(Throughput::Elements(1));
    group.bench_function("generate + encode + decode + ext typing", |b| {
        b.iter(|| {
            let Ok(tree) = strategy.new_tree(&mut runner) else {
                return;
            };
            let Case::Valid(case) = tree.current() else {
                return;
            };
            let bytes = case.message_body().encode_to_vec();
            let body = MessageBody::decode(bytes.as_slice()).expect("round trip");
            black_box(keyvalue::decode_list(&body.ext).ok());
        })
    });
    group.finish();
}

criterion_group!(benches, round_trip);
criterion_main!(benches);
