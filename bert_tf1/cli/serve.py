"""bert-tf1-serve: TensorFlow Serving's REST API over an exported model.

    bert-tf1-serve --model runs/imdb_export [--host 127.0.0.1] [--port 8501] [--model_name default]
    curl -d '{"instances": ["a gripping film"]}' localhost:8501/v1/models/default:predict

See bert_tf1.serving.server for the endpoints, errors and shutdown.
"""
import argparse
import errno
import sys

from bert_tf1 import compat
from bert_tf1.cli import run_main
from bert_tf1.cli.flags import finite_float
from bert_tf1.errors import BertTF1Error
from bert_tf1.serving import server

PROG = "bert-tf1-serve"


def build_arg_parser():
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="directory written by bert-tf1-export")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default %(default)s; 0.0.0.0 in Docker)")
    parser.add_argument("--port", type=int, default=server.DEFAULT_PORT,
                        help="port (default %(default)s, TF Serving's REST port; 0: any free)")
    parser.add_argument("--model_name", default="default", help="NAME in /v1/models/NAME")
    parser.add_argument("--max_batch_size", type=int, default=32,
                        help="most inputs per session run across requests (default %(default)s)")
    parser.add_argument("--max_wait_ms", type=finite_float, default=5.0,
                        help="how long a batch waits for more requests (default %(default)s)")
    parser.add_argument("--max_queue", type=int, default=32,
                        help="requests waiting for the model before 503 (default %(default)s)")
    parser.add_argument("--max_body_bytes", type=int, default=server.DEFAULT_MAX_BODY_BYTES,
                        help="larger request bodies get 413 (default %(default)s)")
    parser.add_argument("--threads", type=int, default=64,
                        help="request threads; keep above --max_queue (default %(default)s)")
    return parser


def main(argv=None):
    """Returns the exit status (0, or 2 after one error line: bad input, a port that cannot be
    bound, or an I/O fault reading the model)."""
    args = build_arg_parser().parse_args(argv)

    def call():
        compat.setup_tf1()
        try:
            return server.serve(args.model, host=args.host, port=args.port,
                                model_name=args.model_name, max_batch_size=args.max_batch_size,
                                max_wait_ms=args.max_wait_ms, max_queue=args.max_queue,
                                max_body_bytes=args.max_body_bytes, threads=args.threads)
        except OSError as error:
            if error.errno not in (errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.EACCES) or \
                    error.filename:  # a file's EACCES is an I/O fault: run_main names the file
                raise
            raise BertTF1Error("--host %s --port %d: cannot listen there (%s); choose another "
                               "--port (0: any free one)" % (args.host, args.port,
                                                              error.strerror or error))
        except ValueError as error:  # the batching limits' checks raise plain ValueError
            if isinstance(error, BertTF1Error):
                raise
            raise BertTF1Error(str(error)) from error

    return run_main(PROG, call)


def run():
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    run()
