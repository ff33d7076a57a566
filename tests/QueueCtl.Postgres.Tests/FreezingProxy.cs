using System.Net;
using System.Net.Sockets;

namespace QueueCtl.Postgres.Tests;

/// <summary>
/// A TCP relay to the test server that can freeze (stop passing bytes without closing anything, as a cut cable or a
/// dead NAT entry does) and thaw.
/// </summary>
public sealed class FreezingProxy : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly string _host;
    private readonly int _port;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<TcpClient> _clients = new();
    private volatile bool _frozen;

    public FreezingProxy(string host, int port)
    {
        _host = host;
        _port = port;
        _listener.Start();
        _ = Task.Run(AcceptLoop);
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public void Freeze() => _frozen = true;

    public void Thaw() => _frozen = false;

    private async Task AcceptLoop()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient inbound;
            try
            {
                inbound = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception)
            {
                return;
            }
            if (_frozen)
            {
                lock (_clients) _clients.Add(inbound); // accepted, never answered
                continue;
            }
            var outbound = new TcpClient();
            try
            {
                await outbound.ConnectAsync(_host, _port);
            }
            catch (SocketException)
            {
                inbound.Dispose();
                continue;
            }
            lock (_clients) _clients.AddRange(new[] { inbound, outbound });
            _ = Pump(inbound.GetStream(), outbound.GetStream());
            _ = Pump(outbound.GetStream(), inbound.GetStream());
        }
    }

    private async Task Pump(NetworkStream from, NetworkStream to)
    {
        var buffer = new byte[16384];
        try
        {
            while (true)
            {
                var n = await from.ReadAsync(buffer, _stop.Token);
                if (n == 0) break;
                while (_frozen) await Task.Delay(20, _stop.Token); // what arrives while frozen is held, not passed on
                await to.WriteAsync(buffer.AsMemory(0, n), _stop.Token);
            }
        }
        catch (Exception)
        {
            // Either side went away: so does the relay.
        }
        from.Close();
        to.Close();
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        lock (_clients) foreach (var c in _clients) c.Dispose();
    }
}
