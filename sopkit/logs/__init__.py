"""Log readers: each turns a log file into event rows plus the rejected lines, with reasons."""
