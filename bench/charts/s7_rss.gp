# S7 RSS chart. gnuplot -e "loop='…/s7_rss_loop.dat'; eddy='…/s7_rss_eddy.dat'; out='….png'"
# s7_rss_loop.dat: event_minutes rss_mib (s7_loop, sampled every event-time minute)
# s7_rss_eddy.dat: fraction_of_input rss_mib (eddy, sampled every 0.5 s); `eddy` is
# left unset while eddy's side is pending
set terminal pngcairo size 1000,450 font "sans,10"
set output out
set title "S7: resident memory over an event-time hour of 1-minute tumbling windows"
set xlabel "event time (minutes)"
set ylabel "RSS (MiB)"
set yrange [0:*]
set xrange [0:60]
set grid
set key bottom right
if (exists("eddy")) {
  plot loop using 1:2 with linespoints lw 2 pt 7 ps 0.5 lc rgb "#7f7f7f" title "s7_loop (C, 1 thread)", \
       eddy using ($1 * 60):2 with linespoints lw 2 pt 7 ps 0.5 lc rgb "#1f77b4" title "eddy VmRSS (x: share of input read)"
} else {
  plot loop using 1:2 with linespoints lw 2 pt 7 ps 0.5 lc rgb "#7f7f7f" title "s7_loop (C, 1 thread); eddy pending"
}
