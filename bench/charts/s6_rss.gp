# S6 RSS chart. gnuplot -e "dat='…/s6_rss.dat'; out='….png'"
# s6_rss.dat: seconds rss_mib phase (0 before, 1 server stopped, 2 resumed, 3 draining)
set terminal pngcairo size 1000,450 font "sans,10"
set output out
stats dat using ($3 == 1 ? $1 : 1/0) name "STOP" nooutput
set object 1 rect from STOP_min, graph 0 to STOP_max, graph 1 fc rgb "#fde0dd" fs solid 1.0 noborder behind
set label 1 "MariaDB stopped (SIGSTOP)" at STOP_min, graph 0.95 offset 1,0
set title "S6 backpressure: eddy's resident memory while its MariaDB sink is stopped"
set xlabel "seconds since start"
set ylabel "RSS (MiB)"
set yrange [0:*]
set grid
set key bottom right
plot dat using 1:2 with linespoints lw 2 pt 7 ps 0.5 lc rgb "#1f77b4" title "eddy VmRSS", \
     dat using 1:($3 == 3 ? $2 : 1/0) with points pt 6 lc rgb "#7f7f7f" title "draining after SIGTERM"
