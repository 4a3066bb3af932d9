"""One shard file being written: Parquet (pyarrow) or TFRecord (``tf.train.Example`` per row).

TFRecord stores int columns as ``int64_list``, float32 columns as ``float_list`` and float64 columns
(e.g. session click times, which float32 would round to minutes) as 8 raw bytes in ``bytes_list``
(read back with ``tf.io.decode_raw(..., tf.float64)``). TensorFlow is imported only for TFRecord.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tfrec.data.manifest import Shard

__all__ = ["ROW_GROUP_ROWS", "ShardWriter"]

#: Rows per Parquet row group. A reader holds whole column chunks of a row group in memory, so a
#: bounded row group keeps the memory of streaming a shard independent of the shard's size.
ROW_GROUP_ROWS = 65_536


class ShardWriter:
    """Appends frames to one shard file; :meth:`close` returns its :class:`Shard` entry.

    Args:
      path: the shard file to create.
      file_format: "parquet" or "tfrecord".
    """

    def __init__(self, path, file_format: str):
        self.path = Path(path)
        self.format = file_format
        self.rows = 0
        self._writer = None

    def write(self, frame: pd.DataFrame) -> None:
        """Appends the rows of ``frame`` (the same columns and dtypes at every call)."""
        if self.format == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(frame, preserve_index=False)
            if self._writer is None:
                self._writer = pq.ParquetWriter(self.path, table.schema)
            self._writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
        else:
            import tensorflow as tf

            if self._writer is None:
                self._writer = tf.io.TFRecordWriter(str(self.path))
            columns = [(c, frame[c].to_numpy()) for c in frame.columns]
            for i in range(len(frame)):
                feature = {}
                for name, values in columns:
                    v = values[i]
                    if values.dtype == np.float64:
                        feature[name] = tf.train.Feature(bytes_list=tf.train.BytesList(value=[np.float64(v).tobytes()]))
                    elif values.dtype.kind == "f":
                        feature[name] = tf.train.Feature(float_list=tf.train.FloatList(value=[float(v)]))
                    else:
                        feature[name] = tf.train.Feature(int64_list=tf.train.Int64List(value=[int(v)]))
                example = tf.train.Example(features=tf.train.Features(feature=feature))
                self._writer.write(example.SerializeToString())
        self.rows += len(frame)

    def close(self) -> Shard:
        """Closes the file; returns (name, rows, bytes)."""
        if self._writer is None:  # no rows: an empty file of the format
            self.write(pd.DataFrame())
        self._writer.close()
        return Shard(self.path.name, self.rows, self.path.stat().st_size)
