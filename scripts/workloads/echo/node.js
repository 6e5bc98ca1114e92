// echo, Node.js: a TCP echo server with the net module. Listens on
// 127.0.0.1 at the port given (0: any), prints `port=<n>`, serves until
// killed.
"use strict";
const net = require("net");

const port = parseInt(process.argv[2] || "0", 10);
const server = net.createServer({ noDelay: true }, (sock) => {
  sock.setNoDelay(true);
  sock.on("data", (data) => sock.write(data));
  sock.on("error", () => {});
  sock.on("end", () => sock.end());
});
server.listen(port, "127.0.0.1", () => {
  process.stdout.write("port=" + server.address().port + "\n");
});
