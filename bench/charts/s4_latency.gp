# S4 latency chart. gnuplot -e "dat='…/s4_latency.dat'; out='….png'"
# s4_latency.dat: load_pct p50 p99 p999 (milliseconds)
set terminal pngcairo size 900,450 font "sans,10"
set output out
set title "S4 latency percentiles vs load"
set xlabel "load (% of the maximum sustainable rate)"
set ylabel "latency (ms, log scale)"
set logscale y
set grid
set key top left box opaque
plot dat using 1:2 with linespoints lw 2 pt 7 title "p50", \
     dat using 1:3 with linespoints lw 2 pt 5 title "p99", \
     dat using 1:4 with linespoints lw 2 pt 9 title "p99.9"
