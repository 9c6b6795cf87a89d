# S7 RSS chart. gnuplot -e "loop='…/s7_rss_loop.dat'; eddy='…/s7_rss_eddy.dat'; out='….png'"
# s7_rss_loop.dat: event_minutes rss_mib (s7_loop, sampled every event-time minute)
# s7_rss_eddy.dat: fraction_of_input rss_mib (eddy, sampled every 0.5 s); `eddy` is
# left unset while eddy's side is pending
set terminal pngcairo size 1000,450 font "sans,10"
set output out
# the loop's last sample is the run's event-time length in minutes
stats loop using 1 nooutput
M = STATS_max
set title "S7: resident memory over event time, 1-minute tumbling windows"
set xlabel "event time (minutes)"
set ylabel "RSS (MiB)"
set yrange [0:*]
set xrange [0:M]
set grid
set key bottom right
if (exists("eddy")) {
  plot loop using 1:2 with linespoints lw 2 pt 7 ps 0.5 lc rgb "#7f7f7f" title "s7_loop (C, 1 thread)", \
       eddy using ($1 * M):2 with linespoints lw 2 pt 7 ps 0.5 lc rgb "#1f77b4" title "eddy VmRSS (x: share of input read)"
} else {
  plot loop using 1:2 with linespoints lw 2 pt 7 ps 0.5 lc rgb "#7f7f7f" title "s7_loop (C, 1 thread); eddy pending"
}
