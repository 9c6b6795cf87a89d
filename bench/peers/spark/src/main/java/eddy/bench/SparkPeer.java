package eddy.bench;

import static org.apache.spark.sql.functions.*;

import java.lang.management.ManagementFactory;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.spark.api.java.function.ForeachPartitionFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.streaming.StreamingQuery;
import org.apache.spark.sql.streaming.StreamingQueryProgress;
import org.apache.spark.sql.streaming.Trigger;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * The Spark Structured Streaming peer of benchmark S9 (bench/peers/spark/README.md): the
 * tutorials' own two jobs, written as a Spark user writes them.
 *
 * <pre>
 * wordcount: Kafka (key = document, value = line) → words (split on what is not [A-Za-z0-9] or
 *            ≥ U+0080, ASCII lowercased) → per micro-batch, in foreachBatch: count per word and
 *            per (document, word) → PostgreSQL upserts that add the batch's counts
 *            (INSERT … ON CONFLICT DO UPDATE SET count = t.count + EXCLUDED.count)
 * orders:    Kafka JSON orders → status != 'cancelled' → event time ts (epoch ms), watermark
 *            12 s → 1-minute tumbling windows per category: count, sum(amount), max(amount),
 *            output mode update → foreachBatch → MariaDB upserts of the changed windows
 * </pre>
 *
 * The query runs with Trigger.AvailableNow and maxOffsetsPerTrigger, so it reads what the
 * topic holds in micro-batches and stops after the batch that reaches its end; every batch's
 * upserts are committed before Spark records the batch as done. stdout: one JSON line.
 */
public final class SparkPeer {
    public static void main(String[] args) throws Exception {
        Map<String, String> o = new HashMap<>();
        o.put("max-offsets", "200000");
        o.put("shuffle-partitions", "4");
        o.put("timeout-s", "900");
        String job = args.length > 0 ? args[0] : "";
        for (int i = 1; i + 1 < args.length; i += 2) {
            if (!args[i].startsWith("--")) usage("unexpected argument " + args[i]);
            o.put(args[i].substring(2), args[i + 1]);
        }
        if (!job.equals("wordcount") && !job.equals("orders")) usage("the job is wordcount or orders");
        for (String k : new String[] {"bootstrap", "topic", "jdbc", "table", "checkpoint", "expected"})
            if (!o.containsKey(k)) usage("--" + k + " is required");
        long expected = Long.parseLong(o.get("expected"));
        long jvmStart = ManagementFactory.getRuntimeMXBean().getStartTime();

        SparkSession spark = SparkSession.builder().appName("eddy-bench-s9-" + job).master("local[2]")
                .config("spark.sql.shuffle.partitions", o.get("shuffle-partitions"))
                .config("spark.ui.enabled", "false")
                .config("spark.sql.streaming.numRecentProgressUpdates", "100000")
                .getOrCreate();
        spark.sparkContext().setLogLevel("WARN");

        Dataset<Row> kafka = spark.readStream().format("kafka")
                .option("kafka.bootstrap.servers", o.get("bootstrap"))
                .option("subscribe", o.get("topic"))
                .option("startingOffsets", "earliest")
                .option("maxOffsetsPerTrigger", o.get("max-offsets"))
                .load();
        String jdbc = o.get("jdbc"), table = o.get("table");
        StreamingQuery q;
        if (job.equals("wordcount")) {
            Dataset<Row> words = kafka
                    .select(col("key").cast("string").as("doc"),
                            explode(split(translate(col("value").cast("string"),
                                    "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz"),
                                    "[^a-z0-9\\x{80}-\\x{10FFFF}]+")).as("word"))
                    .where(col("word").notEqual(""));
            q = words.writeStream().queryName("wordcount").option("checkpointLocation", o.get("checkpoint"))
                    .trigger(Trigger.AvailableNow())
                    .foreachBatch((Dataset<Row> batch, Long id) -> {
                        batch.persist();
                        upsert(batch.groupBy("word").count(), jdbc,
                                "INSERT INTO " + table + " AS t (word, count) VALUES (?, ?) "
                                        + "ON CONFLICT (word) DO UPDATE SET count = t.count + EXCLUDED.count");
                        upsert(batch.groupBy("doc", "word").count(), jdbc,
                                "INSERT INTO " + table + "_by_doc AS t (doc, word, count) VALUES (?, ?, ?) "
                                        + "ON CONFLICT (doc, word) DO UPDATE SET count = t.count + EXCLUDED.count");
                        batch.unpersist();
                    })
                    .start();
        } else {
            StructType schema = new StructType()
                    .add("order_id", DataTypes.LongType).add("ts", DataTypes.LongType)
                    .add("customer", DataTypes.StringType).add("product_id", DataTypes.LongType)
                    .add("category", DataTypes.StringType).add("amount", DataTypes.DoubleType)
                    .add("status", DataTypes.StringType);
            Dataset<Row> windows = kafka
                    .select(from_json(col("value").cast("string"), schema).as("o")).select("o.*")
                    .where(col("status").notEqual("cancelled"))
                    .withColumn("et", timestamp_millis(col("ts")))
                    .withWatermark("et", "12 seconds")
                    .groupBy(window(col("et"), "1 minute"), col("category"))
                    .agg(count(lit(1)).as("orders"), sum("amount").as("revenue"), max("amount").as("biggest"))
                    .select(col("window.start").as("window_start"), col("window.end").as("window_end"),
                            col("category"), col("orders"), col("revenue"), col("biggest"));
            q = windows.writeStream().queryName("orders").outputMode("update")
                    .option("checkpointLocation", o.get("checkpoint"))
                    .trigger(Trigger.AvailableNow())
                    .foreachBatch((Dataset<Row> batch, Long id) -> upsert(batch, jdbc,
                            "INSERT INTO " + table + " (window_start, window_end, category, orders, revenue, biggest) "
                                    + "VALUES (?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE orders = VALUES(orders), "
                                    + "revenue = VALUES(revenue), biggest = VALUES(biggest)"))
                    .start();
        }
        long started = System.currentTimeMillis();
        if (!q.awaitTermination(TimeUnit.SECONDS.toMillis(Long.parseLong(o.get("timeout-s"))))) {
            System.err.println("spark-peer: the query did not finish within --timeout-s");
            System.exit(3);
        }
        if (q.exception().isDefined()) throw q.exception().get();

        long rows = 0, firstRows = 0, firstEnd = 0, lastEnd = 0;
        int batches = 0;
        for (StreamingQueryProgress p : q.recentProgress()) {
            if (p.numInputRows() == 0) continue;
            System.err.println("spark-peer: batch " + p.batchId() + ": " + p.numInputRows() + " rows, durations (ms) "
                    + p.durationMs());
            long end = java.time.Instant.parse(p.timestamp()).toEpochMilli() + p.durationMs().get("triggerExecution");
            if (batches++ == 0) { firstRows = p.numInputRows(); firstEnd = end; }
            rows += p.numInputRows();
            lastEnd = Math.max(lastEnd, end);
        }
        spark.stop();
        long elapsed = lastEnd - started, steady = lastEnd - firstEnd;
        // rows: Kafka messages read (lines for the word count, orders for the analytics)
        System.out.printf("{\"job\":\"%s\",\"rows\":%d,\"expected\":%d,\"batches\":%d,\"elapsed_ms\":%d,"
                        + "\"eps\":%.1f,\"first_batch_rows\":%d,\"first_batch_ms\":%d,\"steady_ms\":%d,"
                        + "\"steady_eps\":%.1f,\"startup_ms\":%d}%n",
                job, rows, expected, batches, elapsed, elapsed > 0 ? rows * 1000.0 / elapsed : 0.0,
                firstRows, firstEnd - started, steady,
                steady > 0 ? (rows - firstRows) * 1000.0 / steady : 0.0, started - jvmStart);
        System.exit(rows == expected ? 0 : 2);
    }

    /** Writes every row of df with the prepared statement sql, 1000 rows per JDBC batch, one transaction per partition. */
    static void upsert(Dataset<Row> df, String jdbc, String sql) {
        df.foreachPartition((ForeachPartitionFunction<Row>) (Iterator<Row> it) -> {
            try (Connection c = DriverManager.getConnection(jdbc)) {
                c.setAutoCommit(false);
                try (PreparedStatement st = c.prepareStatement(sql)) {
                    int n = 0;
                    while (it.hasNext()) {
                        Row r = it.next();
                        for (int i = 0; i < r.size(); i++) st.setObject(i + 1, r.get(i));
                        st.addBatch();
                        if (++n % 1000 == 0) st.executeBatch();
                    }
                    if (n % 1000 != 0) st.executeBatch();
                }
                c.commit();
            }
        });
    }

    private static void usage(String why) {
        System.err.println("spark-peer: " + why + "\nusage: spark-peer wordcount|orders --bootstrap B --topic T "
                + "--jdbc URL --table NAME --checkpoint DIR --expected N [--max-offsets 200000] "
                + "[--shuffle-partitions 4] [--timeout-s 900]");
        System.exit(64);
    }
}
