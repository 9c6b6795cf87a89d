package eddy.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StoreQueryParameters;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.QueryableStoreTypes;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;

/**
 * The Kafka Streams peer of eddy's benchmark S3: the same aggregation as
 * bench/configs/s3_kafka.yaml (JSON order events, group by product_id, count
 * and sum of amount) from the same topic, written as a changelog stream to an
 * output topic, as an idiomatic Kafka Streams DSL application would do it.
 *
 * <pre>
 * java -Xmx1g -jar kstreams-peer.jar --bootstrap HOST:PORT --input TOPIC --output TOPIC
 *      --app-id ID --expected N [--threads 2] [--commit-ms 500] [--timeout-s 300]
 *      [--state-dir DIR]
 * </pre>
 *
 * Measurement: the clock starts just before KafkaStreams.start() (JVM start
 * and topology building excluded) and stops when the application's consumer
 * group (= application.id) has committed offsets that reach the end of every
 * input partition AND of every partition of its repartition topic. Kafka
 * Streams commits offsets only after flushing its state stores and its
 * producer (at_least_once), so that moment is "every input record's effect is
 * durable in the output topic" — the same point at which eddy's active_ms
 * stops. An admin client polls the committed offsets every 50 ms; the commit
 * interval is --commit-ms (500 ms, eddy's flush_interval in S3).
 *
 * Afterwards the state store is read through interactive queries and its
 * totals printed so the caller can check that all input was aggregated.
 * stdout, one JSON object:
 * {"events":N,"elapsed_ms":T,"eps":R,"store_keys":K,"store_count":C,"store_sum":S,
 *  "startup_ms":J}
 * Then the application closes, its local state is removed and its topics
 * (internal and output) and consumer group are deleted.
 * Exit 0 on success, 1 on timeout (no progress for --timeout-s), 2 on usage.
 */
public final class OrderAgg {
    static final String STORE = "product-sales";
    static final String GROUPING = "by-product";

    /** Running count and sum of one product. */
    record Agg(long count, double sum) {}

    /** 16 bytes: count (int64), sum (float64). */
    static final class AggSerde implements Serde<Agg> {
        @Override
        public Serializer<Agg> serializer() {
            return (topic, a) -> a == null ? null
                    : ByteBuffer.allocate(16).putLong(a.count()).putDouble(a.sum()).array();
        }

        @Override
        public Deserializer<Agg> deserializer() {
            return (topic, b) -> {
                if (b == null)
                    return null;
                ByteBuffer bb = ByteBuffer.wrap(b);
                return new Agg(bb.getLong(), bb.getDouble());
            };
        }
    }

    private static Map<String, String> parseArgs(String[] args) {
        Map<String, String> m = new HashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            if (!args[i].startsWith("--"))
                usage("unexpected argument " + args[i]);
            m.put(args[i].substring(2), args[i + 1]);
        }
        if (args.length % 2 != 0)
            usage("option " + args[args.length - 1] + " lacks a value");
        for (String k : List.of("bootstrap", "input", "output", "app-id", "expected"))
            if (!m.containsKey(k))
                usage("missing --" + k);
        return m;
    }

    private static void usage(String why) {
        System.err.println("kstreams-peer: " + why);
        System.err.println("usage: java -jar kstreams-peer.jar --bootstrap B --input T --output T"
                + " --app-id ID --expected N [--threads 2] [--commit-ms 500] [--timeout-s 300]"
                + " [--state-dir DIR]");
        System.exit(2);
    }

    public static void main(String[] args) throws Exception {
        long jvmStartMs = java.lang.management.ManagementFactory.getRuntimeMXBean().getStartTime();
        // Before the first logger exists: Kafka's INFO chatter would drown the result.
        if (System.getProperty("org.slf4j.simpleLogger.defaultLogLevel") == null)
            System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        Map<String, String> a = parseArgs(args);
        String bootstrap = a.get("bootstrap"), input = a.get("input"), output = a.get("output");
        String appId = a.get("app-id");
        long expected = Long.parseLong(a.get("expected"));
        long timeoutMs = 1000L * Long.parseLong(a.getOrDefault("timeout-s", "300"));
        Path stateDir = a.containsKey("state-dir") ? Files.createDirectories(Path.of(a.get("state-dir")))
                : Files.createTempDirectory("kstreams-peer-");

        Properties p = new Properties();
        p.put(StreamsConfig.APPLICATION_ID_CONFIG, appId);
        p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, Integer.parseInt(a.getOrDefault("threads", "2")));
        p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, Long.parseLong(a.getOrDefault("commit-ms", "500")));
        p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.AT_LEAST_ONCE);
        p.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, 1);
        p.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
        p.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");
        // Streams' members do not leave the group on close (a restart within the
        // session timeout keeps its tasks); here they should, so the group can
        // be deleted right after the run.
        p.put(StreamsConfig.consumerPrefix("internal.leave.group.on.close"), true);

        ObjectMapper json = new ObjectMapper(); // thread-safe once configured
        StreamsBuilder b = new StreamsBuilder();
        b.stream(input, Consumed.with(Serdes.String(), Serdes.String()))
                .map((k, v) -> {
                    try {
                        JsonNode n = json.readTree(v);
                        return KeyValue.pair(n.get("product_id").asText(), n.get("amount").asDouble());
                    } catch (Exception e) { // malformed: a null key is dropped by the aggregation
                        return KeyValue.pair((String) null, 0.0);
                    }
                })
                .groupByKey(Grouped.with(GROUPING, Serdes.String(), Serdes.Double()))
                .aggregate(() -> new Agg(0, 0), (k, amount, s) -> new Agg(s.count() + 1, s.sum() + amount),
                        Materialized.<String, Agg, KeyValueStore<Bytes, byte[]>>as(STORE)
                                .withKeySerde(Serdes.String())
                                .withValueSerde(new AggSerde()))
                .toStream()
                .mapValues(s -> "{\"count\":" + s.count() + ",\"sum\":" + s.sum() + "}")
                .to(output, Produced.with(Serdes.String(), Serdes.String()));

        Properties ap = new Properties();
        ap.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        try (Admin admin = Admin.create(ap)) {
            int inParts = admin.describeTopics(List.of(input)).allTopicNames().get().get(input).partitions().size();
            List<TopicPartition> inTps = new ArrayList<>();
            for (int i = 0; i < inParts; i++)
                inTps.add(new TopicPartition(input, i));
            Map<TopicPartition, Long> inEnd = endOffsets(admin, inTps);
            String repartition = appId + "-" + GROUPING + "-repartition";

            KafkaStreams streams = new KafkaStreams(b.build(), p);
            long t0 = System.nanoTime();
            long startupMs = System.currentTimeMillis() - jvmStartMs;
            streams.start();

            long doneNs = 0, lastProgressNs = t0, lastSum = -1;
            while (doneNs == 0) {
                Thread.sleep(50);
                Map<TopicPartition, OffsetAndMetadata> committed =
                        admin.listConsumerGroupOffsets(appId).partitionsToOffsetAndMetadata().get();
                long sum = committed.values().stream().mapToLong(o -> o == null ? 0 : o.offset()).sum();
                long now = System.nanoTime();
                if (sum != lastSum) {
                    lastSum = sum;
                    lastProgressNs = now;
                } else if ((now - lastProgressNs) / 1_000_000 > timeoutMs) {
                    System.err.println("kstreams-peer: no commit progress for " + timeoutMs / 1000 + " s; state "
                            + streams.state() + ", committed " + committed);
                    streams.close(Duration.ofSeconds(10));
                    System.exit(1);
                }
                if (!reached(committed, inEnd))
                    continue;
                // All input committed ⇒ its repartition records were flushed:
                // the repartition topic's end offsets are final now.
                List<TopicPartition> repTps = new ArrayList<>();
                int repParts = admin.describeTopics(List.of(repartition)).allTopicNames().get()
                        .get(repartition).partitions().size();
                for (int i = 0; i < repParts; i++)
                    repTps.add(new TopicPartition(repartition, i));
                if (reached(committed, endOffsets(admin, repTps)))
                    doneNs = now;
            }
            double elapsedMs = (doneNs - t0) / 1e6;

            long keys = 0, count = 0;
            double total = 0;
            ReadOnlyKeyValueStore<String, Agg> store = streams.store(
                    StoreQueryParameters.fromNameAndType(STORE, QueryableStoreTypes.keyValueStore()));
            try (KeyValueIterator<String, Agg> it = store.all()) {
                while (it.hasNext()) {
                    Agg s = it.next().value;
                    keys++;
                    count += s.count();
                    total += s.sum();
                }
            }
            System.out.printf("{\"events\":%d,\"elapsed_ms\":%.1f,\"eps\":%.0f,\"store_keys\":%d,"
                    + "\"store_count\":%d,\"store_sum\":%.2f,\"startup_ms\":%d}%n",
                    expected, elapsedMs, expected / (elapsedMs / 1000.0), keys, count, total, startupMs);
            System.out.flush();

            streams.close(Duration.ofSeconds(30));
            deleteTree(stateDir); // what streams.cleanUp() would do, without its warnings
            Set<String> drop = admin.listTopics().names().get().stream()
                    .filter(t -> t.startsWith(appId + "-") || t.equals(output))
                    .collect(Collectors.toSet());
            try {
                admin.deleteTopics(drop).all().get();
                admin.deleteConsumerGroups(List.of(appId)).all().get();
            } catch (Exception e) {
                System.err.println("kstreams-peer: cleanup: " + e.getMessage());
            }
        }
        System.exit(0);
    }

    private static void deleteTree(Path dir) {
        try (var walk = Files.walk(dir)) {
            walk.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (Exception e) {
            System.err.println("kstreams-peer: cannot remove " + dir + ": " + e.getMessage());
        }
    }

    private static Map<TopicPartition, Long> endOffsets(Admin admin, List<TopicPartition> tps) throws Exception {
        Map<TopicPartition, OffsetSpec> q = new HashMap<>();
        for (TopicPartition tp : tps)
            q.put(tp, OffsetSpec.latest());
        Map<TopicPartition, Long> end = new HashMap<>();
        admin.listOffsets(q).all().get().forEach((tp, info) -> end.put(tp, info.offset()));
        return end;
    }

    /** Every partition's committed offset is at its end (an empty partition needs no commit). */
    private static boolean reached(Map<TopicPartition, OffsetAndMetadata> committed, Map<TopicPartition, Long> end) {
        for (Map.Entry<TopicPartition, Long> e : end.entrySet()) {
            if (e.getValue() == 0)
                continue;
            OffsetAndMetadata o = committed.get(e.getKey());
            if (o == null || o.offset() < e.getValue())
                return false;
        }
        return true;
    }
}
