using System.Text;

namespace QueueCtl.Execution;

/// <summary>Keeps the last <c>limit</c> bytes written to it and counts the bytes it had to drop. Thread-safe.</summary>
public sealed class OutputTail
{
    private readonly byte[] _buffer;
    private int _start;
    private int _length;

    public OutputTail(int limit) => _buffer = new byte[Math.Max(0, limit)];

    public long Dropped { get; private set; }

    public void Write(ReadOnlySpan<byte> data)
    {
        lock (_buffer)
        {
            var capacity = _buffer.Length;
            if (data.Length >= capacity)
            {
                Dropped += _length + data.Length - capacity;
                data[^capacity..].CopyTo(_buffer);
                _start = 0;
                _length = capacity;
                return;
            }
            var overflow = _length + data.Length - capacity;
            if (overflow > 0)
            {
                Dropped += overflow;
                _start = (_start + overflow) % capacity;
                _length -= overflow;
            }
            var end = (_start + _length) % capacity;
            var first = Math.Min(data.Length, capacity - end);
            data[..first].CopyTo(_buffer.AsSpan(end));
            data[first..].CopyTo(_buffer);
            _length += data.Length;
        }
    }

    /// <summary>The kept bytes as UTF-8 text, starting at a whole character when the head was cut off.</summary>
    public override string ToString()
    {
        lock (_buffer)
        {
            var bytes = new byte[_length];
            var first = Math.Min(_length, _buffer.Length - _start);
            _buffer.AsSpan(_start, first).CopyTo(bytes);
            _buffer.AsSpan(0, _length - first).CopyTo(bytes.AsSpan(first));
            var skip = 0;
            if (Dropped > 0)
                while (skip < bytes.Length && skip < 3 && (bytes[skip] & 0xC0) == 0x80) skip++;
            return Encoding.UTF8.GetString(bytes, skip, bytes.Length - skip);
        }
    }
}
