# S1 scaling chart. gnuplot -e "wdat='…/s1_workers.dat'; adat='…/s1_aggregators.dat'; out='….png'"
# s1_workers.dat: blocks (index 0: 10k keys, 1: 1M keys) of
#   keys workers aggregators eddy_eps baseline_eps
# s1_aggregators.dat: the same columns, 10k keys, 2 workers, 1/2/4/8 aggregators.
set terminal pngcairo size 1200,480 font "sans,10"
set output out
set multiplot layout 1,2 title "S1 engine: generator → aggregators → null sink (median events/s; dashed: the 1-thread C loop)"
set grid
set logscale y
set format y "%.1s%c"
set ylabel "events/s (log scale)"
set key top right box opaque

set title "eddy vs workers (8 aggregators)"
set xlabel "workers"
set xrange [0.7:2.3]
set xtics 1
plot wdat index 0 using 2:4 with linespoints lw 2 pt 7 lc rgb "#1f77b4" title "eddy, 10k keys", \
     wdat index 0 using 2:5 with linespoints lw 1 dt 2 pt 6 lc rgb "#1f77b4" title "loop, 10k keys", \
     wdat index 1 using 2:4 with linespoints lw 2 pt 7 lc rgb "#d62728" title "eddy, 1M keys", \
     wdat index 1 using 2:5 with linespoints lw 1 dt 2 pt 6 lc rgb "#d62728" title "loop, 1M keys"

set title "eddy vs aggregators (2 workers, 10k keys)"
set xlabel "aggregators"
set logscale x 2
set xrange [0.8:10]
set xtics ("1" 1, "2" 2, "4" 4, "8" 8)
plot adat using 3:4 with linespoints lw 2 pt 7 lc rgb "#1f77b4" title "eddy", \
     adat using 3:5 with linespoints lw 1 dt 2 pt 6 lc rgb "#1f77b4" title "loop"
unset multiplot
